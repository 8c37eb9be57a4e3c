// libffi (Debian: libffi-dev): calls through prepared call interfaces for plugin hooks.
#include <ffi.h>
