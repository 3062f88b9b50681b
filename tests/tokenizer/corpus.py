"""The parity corpus: strings chosen to hit every branch of the pre-tokenizers,
the BPE model, byte fallback, added-token matching and the decoders."""

HANDWRITTEN = [
    "",
    " ",
    "  ",
    "Hello world",
    "Hello, world!",
    " Hello world",
    "Hello  world",
    "Hello   world   ",
    "hello\nworld",
    "hello\n\nworld\n",
    "\n",
    "\n\n\n",
    "\t",
    "tab\tseparated\tvalues",
    "trailing spaces   ",
    "   leading spaces",
    " \t \n mixed whitespace \r\n end",
    "line one\r\nline two\r\n",
    "I'm sure you're right, they've said we'll see what he'd do. It's Tom's.",
    "I'M SHOUTING 'S 'T 'RE",
    "don't can't won't shouldn't y'all",
    "'s's's 'll'd'm",
    "quotes: \"double\" and 'single' and `back`",
    "1234567890",
    "3.14159 2.71828 -1e10 +42",
    "phone: +1 (555) 123-4567",
    "2024-01-15T12:34:56Z",
    "1,000,000 and 1_000_000",
    "\u0661\u0662\u0663 Arabic-Indic digits, \u2167 roman numeral, \u00bd half, \u00b2 squared",
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "if __name__ == \"__main__\":\n\tmain()",
    "<html><body class=\"main\">Hi &amp; bye</body></html>",
    "SELECT * FROM users WHERE id = 42;",
    "https://example.com/path?query=1&other=two#frag",
    "user@example.com",
    "~!@#$%^&*()_+-=[]{}|;':\",./<>?",
    "....!!!???",
    "--- *** ___ ===",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01",
    "\u6211\u7231\u81ea\u7136\u8bed\u8a00\u5904\u7406\u3002",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002\u30ab\u30bf\u30ab\u30ca",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\uc785\ub2c8\ub2e4",
    "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439, \u043c\u0438\u0440!",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01",
    "Cr\u00e8me br\u00fbl\u00e9e, na\u00efve caf\u00e9, se\u00f1or, \u00fcber",
    "e\u0301 a\u0300 o\u0308 combining marks: n\u0303 Z\u0351\u0364\u036b",
    "Z\u0335\u0321\u031b\u0322a\u0337\u0323l\u0336g\u0334o\u0338",
    "\U0001f600 \U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 \U0001f1fa\U0001f1f8",
    "emoji\U0001f680in\U0001f525the\u2764\ufe0fmiddle",
    "\U0001f600\U0001f600\U0001f600\U0001f600",
    "math: \u2200x \u2208 \u211d, \u2203y: x\u00b2 + y\u00b2 \u2264 1 \u2192 \u222b f(x) dx",
    "currency: $100 \u20ac50 \u00a330 \u00a51000 \u20b9500",
    "non\u00a0breaking\u00a0space and\u2003em\u2003space and\u3000ideographic",
    "zero\u200bwidth\u200cjoiners\u200d",
    "soft\u00adhyphen and \ufeffBOM",
    "fullwidth \uff21\uff22\uff23\uff11\uff12\uff13",
    "\u2581already has metaspace \u2581\u2581",
    "the \u0120 char and \u010a char",
    "<s>",
    "</s>",
    "<unk>",
    "<s> hello </s>",
    "text with <s> inside and </s> too",
    "<|endoftext|>",
    "Hello<|endoftext|>world",
    "first document<|endoftext|> second document",
    "<|endoftext|><|endoftext|>",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "a <|sep|> b  <|sep|>c",
    "say hello world now, hello worlds, ahello world",
    "hello world",
    "foo food foofoo foo",
    "x <tab>  y<tab>z",
    "<0x41> looks like a byte token",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbb",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG!",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism",
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "camelCaseIdentifier snake_case_identifier kebab-case-identifier",
    "v1.2.3-beta+build.42",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "/usr/local/bin/python3 --version",
    "JSON: {\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}",
    "\u00bfQu\u00e9 tal? \u00a1Muy bien!",
    "Stra\u00dfe, \u00c6sir, \u0152uvre, \u0133, \ufb01 ligature",
    "\u1e9e capital sharp s and \u0130stanbul and \u0131",
    "Tab\t\tdouble and space \t mix",
    "ends with newline\n",
    "ends with two spaces  ",
    "ends with space then newline \n",
    " \n",
    "\n ",
    "a\u0085b next line",
    "\u2028line separator\u2029paragraph separator",
    "\x0bvertical tab\x0cform feed",
    "\x1cfile\x1dgroup\x1erecord\x1funit separators",
    "control \x01\x02\x03 chars \x7f",
    "1 2 3 4 5 6 7 8 9 10",
    "a1b2c3d4",
    "0.000001 and 1000000000000",
    "mixed\u4e2d\u6587English\u6df7\u5408",
    "\u3053\u308c\u306fpen\u3067\u3059",
    "tokens: \u2581\u2581\u2581 and ___",
    "UPPER CONTRACTIONS: IT'S WE'RE THEY'VE I'M WE'LL HE'D DON'T",
    "!hello ?world .net #tag @user",
    "\thello\tworld \u00a0nbsp\u3000wide",
    "foo!!!\n\nbar...\r\n\r\nbaz",
    "  \n  \n x  \r\n\t y",
    "123456789012345 digits in 3s and 1s",
    "x=1;\ny=22;\nz=333;\n",
    "\u4e2d\u6587\uff0c\u6807\u70b9\u3002\n\u6362\u884c",
    # Script changes (UnicodeScripts): leading spaces, kana and the long vowel
    # mark beside kanji, emoji newer than Unicode 9, precomposed and combining
    # forms and compatibility characters (Precompiled's charsmap).
    "  東京タワーへ行きます、ひらがなカタカナ。Yes!",
    "Ελληνικά и русский mixed with English 123 🥰🤩 ﬁﬂ ① ㎏ ｈａｌｆ",
    "e\u0301 n\u0303 \u1100\u1161\u11a8 ᄀ각 ℌ ™ ½ \u00a0nbsp\u3000ideographic",
]


def generated():
    """Systematic variations: each fragment alone, after a space, after text,
    and runs of whitespace of every kind and length."""
    fragments = ["word", "Word", "WORD", "42", "3.5", "!?", "\u4e2d\u6587", "\u00e9t\u00e9", "\U0001f642",
                 "'s", "x'll", "\u0939\u093f", "tab\t"]
    out = []
    for fragment in fragments:
        out += [fragment, " " + fragment, "a " + fragment, fragment + " z", "  " + fragment + "  "]
    spaces = [" ", "\t", "\n", "\r\n", "\u00a0", "\u3000"]
    for space in spaces:
        for count in (1, 2, 3, 5):
            out.append("x" + space * count + "y")
            out.append(space * count + "y")
    for n in range(1, 12):
        out.append(str(7 ** n))
    return out


def corpus_strings():
    strings = HANDWRITTEN + generated()
    seen, unique = set(), []
    for s in strings:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    assert len(unique) >= 200, len(unique)
    return unique
