#!/usr/bin/env python3
"""Writes the tokenizer fixtures under Tests/Fixtures/tokenizers/ (see README.md, "Tokenizer fixtures").

Run from the repository root:
    /work/venv-fixtures/bin/python Tests/Fixtures/make_tokenizer_fixtures.py

Nothing is downloaded. The CLIP vocabulary is the real one shipped inside open-clip-torch
(open_clip/bpe_simple_vocab_16e6.txt.gz, MIT); the T5-style Unigram tokenizers are trained here on a seeded
synthetic corpus, once with the `tokenizers` package and once with `sentencepiece` (converted by transformers,
which gives the `Precompiled` normalizer real T5 `tokenizer.json` files carry).

Outputs:
    clip-small-files/   vocab.json + merges.txt + special_tokens_map.json + tokenizer_config.json, a CLIP
                        tokenizer cut to the first 3,000 real merges (pad <|endoftext|>)
    clip-small-pad2/    the same files, pad "!" (SDXL tokenizer_2's configuration)
    clip-small-json/    tokenizer.json of the clip-small-files tokenizer, as transformers writes it
    t5-unigram/         tokenizer.json trained with `tokenizers` (NFKC + Replace, WhitespaceSplit + Metaspace)
    t5-unigram-bytes/   the same model with <0xXX> byte pieces and byte_fallback, Metaspace prepend "first"
    t5-spm/             a sentencepiece Unigram model (spiece.model, nmt_nfkc) and the tokenizer.json transformers
                        converts it to (Precompiled normalizer)
    expected.json       prompt -> input_ids / attention_mask / untruncated length, per variant
"""

import os

# The Unigram trainer sums in parallel; one thread makes its scores (and so the files) byte-identical run to run.
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import gzip  # noqa: E402  (after the environment is set)
import importlib.util  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import sentencepiece
import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram
from tokenizers.trainers import UnigramTrainer
from transformers import CLIPTokenizer, T5Tokenizer
from sentencepiece import sentencepiece_model_pb2
from transformers.convert_slow_tokenizer import SentencePieceExtractor

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "tokenizers")

LONG_CLIP = (
    "a highly detailed matte painting of a sprawling cyberpunk city at night, neon signs reflecting in rain "
    "puddles, flying cars, towering skyscrapers with holographic advertisements, crowded streets full of people "
    "in futuristic clothing, steam rising from manholes, cinematic lighting, volumetric fog, ultra wide angle, "
    "8k resolution, trending on artstation, by greg rutkowski and syd mead, masterpiece, best quality"
)

PROMPTS = [
    "a photo of an astronaut riding a horse on mars",
    "",
    "A Photo Of A CAT in NEW YORK",
    "Café déjà vu, naïve façade — crème brûlée",
    "東京の夜景、写真 and 서울 야경",
    "a cute dog 🐶 wearing sunglasses 😎👍🏽 🇫🇷",
    "Hello, world!!! What's up? (really) [sic] {braces} #tag @user ~tilde~ 50% off...",
    "it's, don't, they're, we've, I'm, you'll, he'd, O'Neil's IT'S",
    "1024x768 resolution, pi is 3.14, 2024-01-01, 1,000,000 and ½ ² ①",
    "multiple   spaces\n\nnewlines\ttabs \r\n end",
    "fish &amp; chips &lt;3 &quot;quoted&quot; &#39;x&#39;",
    "   leading and trailing spaces   ",
    "ΟΔΟΣ ΣΟΦΙΑ Straße İstanbul ﬁne ℌ",
    "cafe\u0301 vs café",
    LONG_CLIP,
]
CLIP_ONLY_PROMPTS = ["a <|endoftext|> inside and <|startoftext|> here"]
T5_ONLY_PROMPTS = [
    "a </s> inside",
    " ".join([LONG_CLIP] * 6),  # more than 512 T5 tokens
]
CLIP_MAX_LENGTH = 77
T5_MAX_LENGTH = 512
CLIP_SMALL_MERGES = 3000


def openclip_paths():
    spec = importlib.util.find_spec("open_clip")
    folder = list(spec.submodule_search_locations)[0]
    return folder, os.path.join(folder, "bpe_simple_vocab_16e6.txt.gz"), os.path.join(folder, "tokenizer.py")


def import_openclip_tokenizer(path):
    spec = importlib.util.spec_from_file_location("openclip_tokenizer_alone", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clip_merges(gz_path):
    """The 48,894 merges CLIP uses, as (a, b) pairs (transformers/open_clip: lines[1 : 49152 - 256 - 2 + 1])."""
    lines = gzip.open(gz_path).read().decode("utf-8").split("\n")
    return [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]


def write_clip_folder(folder, merges, pad_token):
    """vocab.json / merges.txt / special_tokens_map.json / tokenizer_config.json, as diffusers repos ship them."""
    os.makedirs(folder, exist_ok=True)
    byte_chars = list(bytes_to_unicode().values())
    tokens = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    specials = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                "pad_token": pad_token}
    with open(os.path.join(folder, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(specials, f, indent=2, ensure_ascii=False)
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": CLIP_MAX_LENGTH, "do_lower_case": True,
                   **specials}, f, indent=2, ensure_ascii=False)


def encode_cases(tokenizer, prompts, max_length):
    """What the pipelines get: padding="max_length", truncation=True; plus the untruncated length."""
    cases = []
    for prompt in prompts:
        encoded = tokenizer(prompt, padding="max_length", max_length=max_length, truncation=True,
                            add_special_tokens=True)
        full = tokenizer(prompt, add_special_tokens=True)["input_ids"]
        assert len(encoded["input_ids"]) == max_length
        cases.append({"prompt": prompt, "ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
                      "untruncated_length": len(full)})
    return cases


def openclip_cross_check(module, gz_path, clip_tokenizer, prompts):
    """Compares open_clip's SimpleTokenizer (ftfy + html.unescape + its own regex: the 'slow' path) with
    transformers' tokenizer on the same vocabulary; returns per-prompt notes where they differ."""
    simple = module.SimpleTokenizer(bpe_path=gz_path)
    notes = {}
    for prompt in prompts:
        slow = simple.encode(prompt)
        fast = clip_tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if slow != fast:
            notes[prompt] = {"open_clip_ids": slow}
    return notes


def unigram_corpus():
    """A seeded synthetic corpus: prompt-like sentences with accents, CJK, digits and punctuation."""
    rng = random.Random(0)
    nouns = ("cat dog horse astronaut city mountain river forest castle robot dragon flower portrait street car "
             "ship ocean sunset garden painting photo café façade crème brûlée 東京 夜景 写真 서울").split()
    adjectives = "red blue green golden misty ancient futuristic cute detailed dark bright naïve über".split()
    extras = "a the of in on with and at by, . ! ? 1024x768 3.14 8k 50% (masterpiece) it's don't".split()
    lines = []
    for _ in range(3000):
        words = []
        for _ in range(rng.randint(4, 14)):
            pool = rng.choice((nouns, adjectives, extras))
            words.append(rng.choice(pool))
        lines.append(" ".join(words))
    return lines


def train_unigram(corpus):
    tokenizer = Tokenizer(Unigram())
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")])
    trainer = UnigramTrainer(vocab_size=600, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                             max_piece_length=16, shrinking_factor=0.75, n_sub_iterations=2)
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                             special_tokens=[("</s>", 1)])
    spec = json.loads(tokenizer.to_str())
    assert [v[0] for v in spec["model"]["vocab"][:3]] == ["<pad>", "</s>", "<unk>"], "special ids must be 0, 1, 2"
    # The trainer's piece order among equal scores, and the last bits of its scores, change from run to run (Rust
    # hash-map order, parallel sums). Round the scores to 10 decimals and order the pieces by (-score, piece) so
    # the committed file is byte-identical on every run; the model is still a plain Unigram model.
    pieces = sorted(((piece, round(score, 10)) for piece, score in spec["model"]["vocab"][3:]),
                    key=lambda entry: (-entry[1], entry[0]))
    spec["model"]["vocab"] = [list(entry) for entry in spec["model"]["vocab"][:3]] + [list(p) for p in pieces]
    return spec


def byte_fallback_variant(spec):
    """The trained model plus <0x00>…<0xFF> pieces, byte_fallback on, Metaspace prepend "first" with no
    WhitespaceSplit, NFC instead of NFKC, and a literal Replace."""
    spec = json.loads(json.dumps(spec))
    low = min(score for _, score in spec["model"]["vocab"])
    spec["model"]["vocab"] += [[f"<0x{b:02X}>", low - 1.0] for b in range(256)]
    spec["model"]["byte_fallback"] = True
    spec["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "NFC"}, {"type": "Replace", "pattern": {"String": "``"}, "content": "\""}]}
    spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}
    return spec


def train_sentencepiece(corpus, folder):
    """A sentencepiece Unigram model with T5's special ids and the nmt_nfkc rule, converted as transformers does."""
    scratch = tempfile.mkdtemp()
    with open(os.path.join(scratch, "corpus.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(corpus))
    sentencepiece.SentencePieceTrainer.train(
        input=os.path.join(scratch, "corpus.txt"), model_prefix=os.path.join(scratch, "spiece"),
        model_type="unigram", vocab_size=110, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        normalization_rule_name="nmt_nfkc", character_coverage=0.995, num_threads=1, minloglevel=2,
        seed_sentencepiece_size=100000, input_sentence_size=0, shuffle_input_sentence=False)
    model_path = os.path.join(scratch, "spiece.model")
    kwargs = SentencePieceExtractor(model_path).extract(Unigram)
    tokenizer = T5Tokenizer(**kwargs, extra_ids=0)
    tokenizer.backend_tokenizer.save(os.path.join(folder, "tokenizer.json"))
    processor = sentencepiece.SentencePieceProcessor(model_file=model_path)
    # The trainer records its scratch paths in trainer_spec; clear them so the committed file is reproducible.
    proto = sentencepiece_model_pb2.ModelProto()
    with open(model_path, "rb") as f:
        proto.ParseFromString(f.read())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.model_prefix = ""
    with open(os.path.join(folder, "spiece.model"), "wb") as f:
        f.write(proto.SerializeToString(deterministic=True))
    shutil.rmtree(scratch)
    return processor


def t5_from_spec(spec, folder):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "tokenizer.json")
    Tokenizer.from_str(json.dumps(spec)).save(path)
    return T5Tokenizer(tokenizer_object=Tokenizer.from_file(path), eos_token="</s>", unk_token="<unk>",
                       pad_token="<pad>", extra_ids=0)


def format_expected(expected):
    """expected.json with one case per line, so diffs stay readable."""
    def compact(value):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    lines = ["{", f' "generator": {compact(expected["generator"])},', ' "variants": {']
    names = sorted(expected["variants"])
    for index, name in enumerate(names):
        variant = expected["variants"][name]
        lines.append(f"  {json.dumps(name)}: {{")
        for key in sorted(k for k in variant if k != "cases"):
            lines.append(f"   {json.dumps(key)}: {compact(variant[key])},")
        lines.append('   "cases": [')
        cases = variant["cases"]
        lines += [f"    {compact(case)}" + ("," if i < len(cases) - 1 else "") for i, case in enumerate(cases)]
        lines.append("   ]")
        lines.append("  }" + ("," if index < len(names) - 1 else ""))
    lines += [" }", "}", ""]
    text = "\n".join(lines)
    assert json.loads(text) == json.loads(json.dumps(expected))
    return text


def main():
    transformers.logging.set_verbosity_error()
    os.makedirs(OUT, exist_ok=True)
    _, gz_path, openclip_tokenizer_py = openclip_paths()
    merges = clip_merges(gz_path)
    assert len(merges) == 48894

    expected = {"generator": {
        "script": "Tests/Fixtures/make_tokenizer_fixtures.py",
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
        "sentencepiece": sentencepiece.__version__}, "variants": {}}
    variants = expected["variants"]
    clip_prompts = PROMPTS + CLIP_ONLY_PROMPTS
    t5_prompts = PROMPTS + T5_ONLY_PROMPTS

    # The real CLIP vocabulary, both pad variants (not committed: the Swift tests use the bundled resource).
    openclip = import_openclip_tokenizer(openclip_tokenizer_py)
    scratch = tempfile.mkdtemp()
    for name, pad in (("clip-bundled", "<|endoftext|>"), ("clip-bundled-pad2", "!")):
        folder = os.path.join(scratch, name)
        write_clip_folder(folder, merges, pad)
        tokenizer = CLIPTokenizer.from_pretrained(folder)
        assert len(tokenizer) == 49408 and tokenizer.pad_token == pad
        variants[name] = {"source": "bundled", "pad_token": pad, "max_length": CLIP_MAX_LENGTH,
                          "cases": encode_cases(tokenizer, clip_prompts, CLIP_MAX_LENGTH)}
        if pad == "<|endoftext|>":
            variants[name]["open_clip_differences"] = openclip_cross_check(openclip, gz_path, tokenizer, clip_prompts)
    shutil.rmtree(scratch)

    # A small CLIP tokenizer (the first 3,000 real merges) in the three file forms.
    small = merges[:CLIP_SMALL_MERGES]
    for name, pad in (("clip-small-files", "<|endoftext|>"), ("clip-small-pad2", "!")):
        folder = os.path.join(OUT, name)
        shutil.rmtree(folder, ignore_errors=True)
        write_clip_folder(folder, small, pad)
        tokenizer = CLIPTokenizer.from_pretrained(folder)
        variants[name] = {"source": name, "pad_token": pad, "max_length": CLIP_MAX_LENGTH,
                          "cases": encode_cases(tokenizer, clip_prompts, CLIP_MAX_LENGTH)}
        if name == "clip-small-files":
            json_folder = os.path.join(OUT, "clip-small-json")
            shutil.rmtree(json_folder, ignore_errors=True)
            os.makedirs(json_folder)
            tokenizer.backend_tokenizer.save(os.path.join(json_folder, "tokenizer.json"))
            reloaded = CLIPTokenizer(tokenizer_object=Tokenizer.from_file(os.path.join(json_folder, "tokenizer.json")))
            variants["clip-small-json"] = {"source": "clip-small-json/tokenizer.json", "pad_token": "<|endoftext|>",
                                           "max_length": CLIP_MAX_LENGTH,
                                           "cases": encode_cases(reloaded, clip_prompts, CLIP_MAX_LENGTH)}
            assert variants["clip-small-json"]["cases"] == variants[name]["cases"]

    # T5-style Unigram tokenizers.
    corpus = unigram_corpus()
    spec = train_unigram(corpus)
    for name, variant_spec in (("t5-unigram", spec), ("t5-unigram-bytes", byte_fallback_variant(spec))):
        folder = os.path.join(OUT, name)
        shutil.rmtree(folder, ignore_errors=True)
        tokenizer = t5_from_spec(variant_spec, folder)
        variants[name] = {"source": f"{name}/tokenizer.json", "max_length": T5_MAX_LENGTH,
                          "cases": encode_cases(tokenizer, t5_prompts, T5_MAX_LENGTH)}

    folder = os.path.join(OUT, "t5-spm")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    processor = train_sentencepiece(corpus, folder)
    tokenizer = T5Tokenizer(tokenizer_object=Tokenizer.from_file(os.path.join(folder, "tokenizer.json")),
                            eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0)
    variants["t5-spm"] = {"source": "t5-spm/tokenizer.json", "max_length": T5_MAX_LENGTH,
                          "cases": encode_cases(tokenizer, t5_prompts, T5_MAX_LENGTH)}
    differences = {}
    for prompt in t5_prompts:
        spm_ids = processor.encode(prompt) + [1]
        fast_ids = tokenizer(prompt)["input_ids"]
        if spm_ids != fast_ids:
            differences[prompt] = {"sentencepiece_ids": spm_ids}
    variants["t5-spm"]["sentencepiece_differences"] = differences

    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        f.write(format_expected(expected))
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(OUT) for n in names)
    print(f"wrote {OUT} ({total:,} bytes)")
    for name, variant in variants.items():
        notes = variant.get("open_clip_differences") or variant.get("sentencepiece_differences") or {}
        print(f"  {name}: {len(variant['cases'])} prompts, {len(notes)} differ from the reference implementation")
        for prompt in notes:
            print(f"      differs: {prompt!r}")


if __name__ == "__main__":
    sys.exit(main())
