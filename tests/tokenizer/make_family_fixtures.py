#!/usr/bin/env python3
"""Parity fixtures from real tokenizer.json files of model families, encoded by
the current Python `tokenizers` (the reference; older releases cannot read
some of these files).

For every <families-dir>/<family>/tokenizer.json (collected from registry
packages by .ci/setup.d/25-tokenizer-families.sh) it writes
<out>/family_<family>/tokenizer.json and expected.json, in the format of
make_fixtures.py, on the shared corpus plus strings that embed the family's
own special tokens. Computed at test time; nothing expected is committed.

Usage: make_family_fixtures.py --out DIR --families-dir DIR --family NAME...
"""
import argparse
import os
import sys

from corpus import corpus_strings
from make_fixtures import write_variant


def special_token_strings(tok):
    added = sorted(tok.get_added_tokens_decoder().items())
    specials = [t.content for _, t in added if t.special][:4]
    plain = [t.content for _, t in added if not t.special][:2]
    out = []
    for token in specials + plain:
        out.append(f"{token}Hello world{token}")
        out.append(f"text before {token} and after  {token}\n")
    if len(specials) >= 2:
        out.append(f"{specials[0]}user\nWhat is 2+2?{specials[1]}\n{specials[0]}assistant\n")
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--families-dir", required=True)
    parser.add_argument("--family", nargs="+", required=True)
    args = parser.parse_args()
    import tokenizers
    from tokenizers import Tokenizer
    print(f"reference: tokenizers {tokenizers.__version__}")
    texts = corpus_strings()
    for family in args.family:
        path = os.path.join(args.families_dir, family, "tokenizer.json")
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run .ci/setup.d/25-tokenizer-families.sh")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        tok = Tokenizer.from_str(text)
        write_variant(args.out, "family_" + family, tok, texts + special_token_strings(tok), tokenizer_json=text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
