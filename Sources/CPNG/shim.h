// libpng's simplified API (png_image_*), which reports errors through png_image.message rather than
// longjmp, so Swift can call it directly. pkg-config: libpng (Debian: libpng-dev).
#include <png.h>
