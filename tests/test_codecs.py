"""Tests of ``dbsync_core.codecs``: known-answer vectors, round trips and hostile inputs."""

from __future__ import annotations

import hashlib
import zlib
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dbsync_core import codecs
from dbsync_core.codecs import (
    AssetId,
    ParsedAddress,
    asset_fingerprint,
    base58_decode,
    base58_encode,
    bech32_decode,
    bech32_encode,
    byron_address,
    parse_address,
    parse_asset_id,
    parse_drep_id,
    parse_fingerprint,
    parse_hash,
    parse_hashes,
    parse_limit,
    parse_non_negative,
    parse_pool_id,
    parse_stake_address,
    pool_id_text,
    shelley_address,
    stake_address_text,
)
from dbsync_core.exceptions import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

# CIP-19 test-vector credentials.
PAYMENT_KEY_HASH = bytes.fromhex("9493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e")
STAKE_KEY_HASH = bytes.fromhex("337b62cfff6403a06a3acbc34f8c46003c69fe79a3628cefa9c47251")
SCRIPT_HASH = bytes.fromhex("c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f")

CIP19_MAINNET = {
    0: "addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x",  # noqa: E501
    1: "addr1z8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gten0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs9yc0hh",  # noqa: E501
    2: "addr1yx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerkr0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shs2z78ve",  # noqa: E501
    3: "addr1x8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gt7r0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shskhj42g",  # noqa: E501
    4: "addr1gx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer5pnz75xxcrzqf96k",
    5: "addr128phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtupnz75xxcrtw79hu",
    6: "addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8",
    7: "addr1w8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcyjy7wx",
}
CIP19_TESTNET_BASE = "addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs68faae"  # noqa: E501
CIP19_STAKE_KEY = "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw"
CIP19_STAKE_SCRIPT = "stake178phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcccycj5"
CIP19_STAKE_KEY_TEST = "stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn"
CIP19_BYRON = "37btjrVyb4KDXBNC4haBVPCrro8AQPHwvCMp3RFhhSVWwfFmZ6wwzSK6JK1hY6wHNmtrpTf1kdbva8TCneM2YsiXT7mrzT21EacHnPpz5YyUdj64na"  # noqa: E501

CIP14_POLICY_A = bytes.fromhex("7eae28af2208be856f7a119668ae52a49b73725e326dc16579dcc373")
CIP14_POLICY_B = bytes.fromhex("1e349c9bdea19fd6c147626a5260bc44b71635f398b67c59881df209")
PATATE = bytes.fromhex("504154415445")

credentials = st.binary(min_size=28, max_size=28)


# ---------------------------------------------------------------------------------------------
# Hostile inputs: only InvalidInputError, with the argument name first and a short message
# ---------------------------------------------------------------------------------------------

SPECIAL_INPUTS: list[object] = [
    "",
    " ",
    "' OR 1=1 --",
    "'; DROP TABLE tx; --",
    "\x00",
    "addr1\x00",
    "0x" + "00" * 32,
    "00" * 32 + "\n",
    " " + "ab" * 32,
    "\u0661" * 64,  # Arabic-Indic digit one: str.isdigit() but not hex
    "\ud800" * 10,
    "\u0130" * 64,  # lowercases to two characters
    "A12UEL5L",
    "a12UEL5L",
    "1" * 5000,
    "addr1" + "q" * 2000,
    "asset1" + "q" * 38,
    "pool1",
    "stake1",
    "drep1",
    CIP19_STAKE_KEY,
    CIP19_MAINNET[0],
    CIP19_BYRON,
    b"",
    b"\x00" * 28,
    b"\xe1" * 29,
    bytearray(b"\xff" * 32),
    memoryview(b"\x00" * 32),
    None,
    0,
    -1,
    2**64,
    10**5000,
    True,
    1.5,
    float("nan"),
    [],
    ["00" * 32],
    {},
    (1, 2),
    object(),
]

hostile = st.one_of(
    st.sampled_from(SPECIAL_INPUTS),
    st.text(max_size=120),
    st.text(alphabet="0123456789abcdefABCDEF.x ", max_size=130),
    st.text(alphabet=BECH32_CHARSET + "1", max_size=120).map(lambda s: "addr1" + s),
    st.text(alphabet=codecs._BASE58_ALPHABET, max_size=120),
    st.binary(max_size=64),
    st.integers(),
    st.floats(),
    st.none(),
    st.lists(st.one_of(st.text(max_size=70), st.binary(max_size=40), st.none()), max_size=4),
)


def _call_memoryview_released(func: Callable[[Any], object]) -> None:
    view = memoryview(b"\x00" * 32)
    view.release()
    func(view)


HOSTILE_TARGETS: list[tuple[str, Callable[[Any], object]]] = [
    ("tx_hash", lambda v: parse_hash(v, arg="tx_hash")),
    ("policy", lambda v: parse_hash(v, size=28, arg="policy")),
    ("hashes", parse_hashes),
    ("hashes", lambda v: parse_hashes([v, v])),
    ("bech32", bech32_decode),
    ("hrp", lambda v: bech32_encode(v, b"")),
    ("data", lambda v: bech32_encode("x", v)),
    ("base58", base58_decode),
    ("data", base58_encode),
    ("address", parse_address),
    ("stake_address", parse_stake_address),
    ("raw", stake_address_text),
    ("network_id", lambda v: shelley_address(network_id=v, payment_cred=PAYMENT_KEY_HASH)),
    ("payment_cred", lambda v: shelley_address(network_id=1, payment_cred=v)),
    ("stake_cred", lambda v: shelley_address(network_id=1, payment_cred=SCRIPT_HASH, stake_cred=v)),
    ("root", byron_address),
    ("attributes", lambda v: byron_address(SCRIPT_HASH, attributes=v)),
    ("pool_id", parse_pool_id),
    ("hash_raw", pool_id_text),
    ("drep_id", parse_drep_id),
    ("policy", lambda v: asset_fingerprint(v, b"")),
    ("name", lambda v: asset_fingerprint(CIP14_POLICY_A, v)),
    ("asset", parse_asset_id),
    ("fingerprint", parse_fingerprint),
    ("limit", parse_limit),
    ("offset", lambda v: parse_non_negative(v, arg="offset")),
]


def _only_invalid_input(arg: str, func: Callable[[Any], object], value: object) -> None:
    try:
        func(value)
    except InvalidInputError as exc:
        message = str(exc)
        assert message.startswith(arg), message
        assert len(message) <= len(arg) + 220, message


@pytest.mark.parametrize(("arg", "func"), HOSTILE_TARGETS)
@given(value=hostile)
def test_hostile_inputs_raise_only_invalid_input(arg, func, value):
    """Any input either parses or raises InvalidInputError whose short message names the arg."""
    _only_invalid_input(arg, func, value)


@pytest.mark.parametrize(("arg", "func"), HOSTILE_TARGETS)
def test_released_memoryview_is_invalid_input(arg, func):
    """A released memoryview raises InvalidInputError, not the ValueError of memoryview."""
    _only_invalid_input(arg, lambda v: _call_memoryview_released(func), None)


def test_invalid_input_error_is_a_value_error():
    """InvalidInputError can be caught as ValueError."""
    with pytest.raises(ValueError, match=r"^tx_hash: expected 64 hex characters, got 63$"):
        parse_hash("0" * 63, arg="tx_hash")


def test_messages_never_echo_long_inputs():
    """A huge bad input is echoed at most ~80 characters into the message."""
    for func in (parse_address, bech32_decode, parse_asset_id, parse_fingerprint):
        with pytest.raises(InvalidInputError) as info:
            func("Z" * 900 + "!")
        assert str(info.value).count("Z") <= 80


# ---------------------------------------------------------------------------------------------
# Hex hashes
# ---------------------------------------------------------------------------------------------


@given(raw=st.binary(min_size=1, max_size=64), upper=st.booleans())
def test_parse_hash_round_trips_hex_in_either_case(raw, upper):
    """Hex text of any case and the raw bytes both parse to the same bytes."""
    text = raw.hex().upper() if upper else raw.hex()
    assert parse_hash(text, size=len(raw)) == raw
    assert parse_hash(raw, size=len(raw)) == raw
    assert parse_hash(bytearray(raw), size=len(raw)) == raw  # type: ignore[arg-type]
    assert parse_hash(memoryview(raw), size=len(raw)) == raw  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("0" * 63, "expected 64 hex characters, got 63"),
        ("0" * 65, "expected 64 hex characters, got 65"),
        ("0x" + "0" * 62, "hex characters"),
        ("0" * 62 + " 0", "hex characters"),
        ("g" * 64, "hex characters"),
        (b"\x00" * 31, "expected 32 bytes, got 31"),
        (None, "NoneType"),
        (123, "int"),
        (["00" * 32], "list"),
    ],
)
def test_parse_hash_rejects_malformed(value, fragment):
    """Wrong lengths, prefixes, whitespace, non-hex and wrong types are rejected."""
    with pytest.raises(InvalidInputError, match=r"^hash: ") as info:
        parse_hash(value)
    assert fragment in str(info.value)


def test_parse_hash_rejects_bad_size():
    """A non-positive or non-int size is reported as InvalidInputError."""
    for size in (0, -1, True, 1.5):
        with pytest.raises(InvalidInputError, match=r"^hash: size"):
            parse_hash("00", size=size)  # type: ignore[arg-type]


def test_parse_hashes_parses_a_batch_and_keeps_duplicates():
    """A list, tuple or generator of mixed hex/bytes parses in order with duplicates kept."""
    a, b = b"\x01" * 32, b"\x02" * 32
    assert parse_hashes([a.hex(), b, a.hex().upper()]) == [a, b, a]
    assert parse_hashes(x for x in (b.hex(),)) == [b]
    assert parse_hashes(()) == []


def test_parse_hashes_rejects_a_bare_string_or_bytes():
    """Passing one str/bytes instead of an iterable of them is a clear error."""
    for value in ("00" * 32, b"\x00" * 32, bytearray(32)):
        with pytest.raises(InvalidInputError, match=r"^hashes: .*single str/bytes"):
            parse_hashes(value)  # type: ignore[arg-type]


def test_parse_hashes_names_the_bad_index():
    """The message names the index of the first bad item."""
    values = ["00" * 32] * 3 + ["00" * 31]
    with pytest.raises(
        InvalidInputError, match=r"^hashes\[3\]: expected 64 hex characters, got 62$"
    ):
        parse_hashes(values)
    with pytest.raises(InvalidInputError, match=r"^ids\[0\]: "):
        parse_hashes([None], arg="ids")  # type: ignore[list-item]


def test_parse_hashes_enforces_max_items_without_consuming_everything():
    """More than max_items is rejected, even from an endless generator."""

    def endless() -> Iterator[bytes]:
        while True:
            yield b"\x00" * 28

    assert len(parse_hashes([b"\x00" * 28] * 3, size=28, max_items=3)) == 3
    with pytest.raises(InvalidInputError, match=r"^hashes: expected at most 3 items$"):
        parse_hashes(endless(), size=28, max_items=3)


def test_parse_hashes_rejects_non_iterables():
    """None and ints are not iterables of hashes."""
    for value in (None, 5):
        with pytest.raises(InvalidInputError, match=r"^hashes: expected an iterable"):
            parse_hashes(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Bech32
# ---------------------------------------------------------------------------------------------

BIP173_VALID = [
    ("A12UEL5L", "a", b""),
    ("a12uel5l", "a", b""),
    (
        "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
        "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio",
        b"",
    ),
    (
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "abcdef",
        bytes.fromhex("00443214c74254b635cf84653a56d7c675be77df"),
    ),
    ("11" + "q" * 82 + "c8247j", "1", bytes(51)),
    ("?1ezyfcl", "?", b""),
]


@pytest.mark.parametrize(("value", "hrp", "data"), BIP173_VALID)
def test_bech32_bip173_valid_vectors(value, hrp, data):
    """The BIP-173 valid test strings decode; the whole-uppercase form is valid too."""
    assert bech32_decode(value) == (hrp, data)
    assert bech32_decode(value.swapcase() if value.isupper() else value.upper()) == (hrp, data)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("\x201nwldj5", "printable ASCII"),
        ("\x7f1axkwrx", "printable ASCII"),
        ("\x801eym55h", "printable ASCII"),
        ("pzry9x0s0muk", "separator"),
        ("1pzry9x0s0muk", "empty human-readable prefix"),
        ("x1b4n0q5v", "invalid bech32 character 'b'"),
        ("li1dgmt3", "too short"),
        ("de1lg7wt\xff", "printable ASCII"),
        ("A1G7SGD8", "checksum"),
        ("10a06t8", "empty human-readable prefix"),
        ("1qzzfhee", "empty human-readable prefix"),
        ("a12UEL5L", "mixed upper and lower case"),
        ("A12uEL5L", "mixed upper and lower case"),
    ],
)
def test_bech32_bip173_invalid_vectors(value, fragment):
    """The BIP-173 invalid test strings (and mixed case) are rejected with a reason."""
    with pytest.raises(InvalidInputError, match=r"^bech32: ") as info:
        bech32_decode(value)
    assert fragment in str(info.value)


def test_bech32_rejects_bech32m_checksum():
    """A valid bech32m (BIP-350) string is rejected: only the constant-1 checksum is accepted."""
    with pytest.raises(InvalidInputError, match="checksum"):
        bech32_decode("a1lqfn3a")  # BIP-350 valid bech32m vector


def test_bech32_has_no_90_character_limit():
    """Cardano's bech32 allows long strings: an 84-char hrp (BIP-173 invalid only by length)."""
    value = "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx"  # noqa: E501
    assert bech32_decode(value)[0] == value[:-7]
    longest = bech32_encode("a", bytes(634))
    assert len(longest) == 1023
    assert bech32_decode(longest) == ("a", bytes(634))
    with pytest.raises(InvalidInputError, match=r"^data: too long"):
        bech32_encode("a", bytes(635))
    with pytest.raises(InvalidInputError, match=r"^bech32: expected at most 1023"):
        bech32_decode("a1" + "q" * 1022)


def test_bech32_rejects_invalid_padding():
    """Non-zero padding bits and padding longer than 4 bits are rejected."""
    # One 5-bit group holds no whole byte: 5 padding bits.
    with pytest.raises(InvalidInputError, match="padding"):
        bech32_decode(_bech32_from_groups("a", [0]))
    # Two groups = 10 bits = one byte + 2 padding bits, which must be zero.
    assert bech32_decode(_bech32_from_groups("a", [31, 28])) == ("a", b"\xff")
    with pytest.raises(InvalidInputError, match="padding"):
        bech32_decode(_bech32_from_groups("a", [31, 29]))


def _bech32_from_groups(hrp: str, groups: list[int]) -> str:
    """A checksummed bech32 string from raw 5-bit groups (to build bad padding)."""
    check = codecs._polymod(hrp, [*groups, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(check >> (5 * (5 - i))) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[g] for g in groups + checksum)


def test_bech32_encode_rejects_bad_hrp():
    """An empty, uppercase, or non-printable hrp is rejected when encoding."""
    for hrp in ("", "Addr", "a b", "\x00"):
        with pytest.raises(InvalidInputError, match=r"^hrp: "):
            bech32_encode(hrp, b"")


hrps = st.text(
    alphabet=[chr(c) for c in range(33, 127) if not chr(c).isupper()], min_size=1, max_size=20
)


@given(hrp=hrps, data=st.binary(max_size=120))
def test_bech32_round_trip(hrp, data):
    """bech32_encode then bech32_decode returns the hrp and data, in either case."""
    text = bech32_encode(hrp, data)
    assert text == text.lower()
    assert bech32_decode(text) == (hrp, data)
    assert bech32_decode(text.upper()) == (hrp, data)


@given(
    hrp=hrps,
    data=st.binary(max_size=60),
    data_index=st.integers(min_value=0),
    new=st.integers(1, 31),
)
def test_bech32_detects_any_single_substitution(hrp, data, data_index, new):
    """Changing any one data/checksum character breaks the checksum."""
    text = bech32_encode(hrp, data)
    start = len(hrp) + 1
    position = start + data_index % (len(text) - start)
    old = BECH32_CHARSET.index(text[position])
    flipped = text[:position] + BECH32_CHARSET[(old + new) % 32] + text[position + 1 :]
    with pytest.raises(InvalidInputError, match=r"^bech32: "):
        bech32_decode(flipped)


# ---------------------------------------------------------------------------------------------
# Base58
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"", ""),
        (b"\x00", "1"),
        (b"\x00\x00\x00", "111"),
        (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
        (bytes.fromhex("0000287fb4cd"), "11233QC4"),
        (
            b"The quick brown fox jumps over the lazy dog.",
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
        ),
    ],
)
def test_base58_known_vectors(raw, text):
    """The base58 draft (draft-msporny-base58) examples encode and decode."""
    assert base58_encode(raw) == text
    assert base58_decode(text) == raw


@given(raw=st.binary(max_size=200))
def test_base58_round_trip(raw):
    """base58_decode(base58_encode(x)) == x, with one '1' per leading zero byte."""
    text = base58_encode(raw)
    assert base58_decode(text) == raw
    zeros = len(raw) - len(raw.lstrip(b"\0"))
    assert len(text) - len(text.lstrip("1")) == zeros


@pytest.mark.parametrize("value", ["0", "O", "I", "l", "abc+", "abc def", "\u0661"])
def test_base58_rejects_characters_outside_the_alphabet(value):
    """0, O, I, l and non-alphabet characters are rejected."""
    with pytest.raises(InvalidInputError, match=r"^base58: invalid Base58 character"):
        base58_decode(value)


# ---------------------------------------------------------------------------------------------
# Shelley addresses and stake addresses
# ---------------------------------------------------------------------------------------------


def test_cip19_base_and_enterprise_vectors_build():
    """shelley_address reproduces the CIP-19 base and enterprise test vectors."""
    base = shelley_address(network_id=1, payment_cred=PAYMENT_KEY_HASH, stake_cred=STAKE_KEY_HASH)
    assert base.text == CIP19_MAINNET[0]
    test_base = shelley_address(
        network_id=0, payment_cred=PAYMENT_KEY_HASH, stake_cred=STAKE_KEY_HASH
    )
    assert test_base.text == CIP19_TESTNET_BASE
    enterprise = shelley_address(network_id=1, payment_cred=PAYMENT_KEY_HASH)
    assert enterprise.text == CIP19_MAINNET[6]
    assert enterprise.stake_address_raw is None
    script_base = shelley_address(
        network_id=1,
        payment_cred=SCRIPT_HASH,
        payment_is_script=True,
        stake_cred=SCRIPT_HASH,
        stake_is_script=True,
    )
    assert script_base.text == CIP19_MAINNET[3]


@pytest.mark.parametrize(("kind", "text"), sorted(CIP19_MAINNET.items()))
def test_cip19_mainnet_vectors_parse(kind, text):
    """Every CIP-19 mainnet payment address (types 0-7) parses to the right parts."""
    parsed = parse_address(text)
    assert parsed.era == "shelley"
    assert parsed.network_id == 1
    assert parsed.raw[0] == (kind << 4) | 1
    assert parsed.text == text
    assert parsed.payment_is_script == bool(kind & 1)
    assert parsed.payment_cred == (SCRIPT_HASH if kind & 1 else PAYMENT_KEY_HASH)
    if kind <= 3:
        stake = SCRIPT_HASH if kind & 2 else STAKE_KEY_HASH
        header = 0xF1 if kind & 2 else 0xE1
        assert parsed.stake_address_raw == bytes([header]) + stake
    else:
        assert parsed.stake_address_raw is None


def test_cip19_base_address_links_to_its_stake_address():
    """The stake_address_raw of the type-0 vector renders as the type-14 vector."""
    parsed = parse_address(CIP19_MAINNET[0])
    assert parsed.stake_address_raw is not None
    assert stake_address_text(parsed.stake_address_raw) == CIP19_STAKE_KEY


def test_cip19_pointer_vector_carries_the_published_pointer():
    """The type-4 vector's payload after the credential is the pointer (2498243, 27, 3)."""
    parsed = parse_address(CIP19_MAINNET[4])
    assert parsed.raw[29:] == bytes([0x81, 0x98, 0xBD, 0x43, 27, 3])
    assert ((1 * 128 + 0x18) * 128 + 0x3D) * 128 + 0x43 == 2498243


def test_parse_address_accepts_uppercase_and_normalises():
    """An all-uppercase bech32 address parses; text is the canonical lowercase form."""
    parsed = parse_address(CIP19_TESTNET_BASE.upper())
    assert parsed.text == CIP19_TESTNET_BASE
    assert parsed.network_id == 0


def _addr(hrp: str, raw: bytes) -> str:
    return bech32_encode(hrp, raw)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (CIP19_STAKE_KEY, "parse_stake_address"),
        (CIP19_STAKE_KEY_TEST, "parse_stake_address"),
        (_addr("addr", b"\xe1" + STAKE_KEY_HASH), "parse_stake_address"),
        (_addr("addr", b"\x00" + PAYMENT_KEY_HASH + STAKE_KEY_HASH), "does not match network"),
        (_addr("addr_test", b"\x61" + PAYMENT_KEY_HASH), "does not match network"),
        (_addr("addr", b"\x91" + PAYMENT_KEY_HASH), "unknown address type 9"),
        (_addr("addr", b"\x81" + PAYMENT_KEY_HASH), "Base58"),
        (_addr("addr", b"\x01" + PAYMENT_KEY_HASH), "57 bytes"),
        (_addr("addr", b"\x01" + PAYMENT_KEY_HASH + STAKE_KEY_HASH + b"\x00"), "57 bytes"),
        (_addr("addr", b"\x61" + PAYMENT_KEY_HASH + b"\x00"), "29 bytes"),
        (_addr("addr", b"\x41" + PAYMENT_KEY_HASH + b"\x81\x01\x02"), "truncated"),
        (_addr("addr", b"\x41" + PAYMENT_KEY_HASH + b"\x01\x02\x83"), "truncated"),
        (_addr("addr", b"\x41" + PAYMENT_KEY_HASH + b"\x01\x02\x03\x04"), "trailing"),
        (_addr("addr", b""), "no address bytes"),
        (_addr("pool", SCRIPT_HASH), "expected a bech32 addr1"),
        (CIP19_MAINNET[0][:-1] + "q", "checksum"),
        (CIP19_MAINNET[0][:10] + CIP19_MAINNET[0][10:].upper(), "mixed"),
        ("addr1", "too short"),
    ],
)
def test_parse_address_rejects_malformed(value, fragment):
    """Stake addresses, network mismatches, bad types and lengths, pointers and checksums fail."""
    with pytest.raises(InvalidInputError, match=r"^address: ") as info:
        parse_address(value)
    assert fragment in str(info.value)


@given(
    network_id=st.integers(0, 15),
    payment=credentials,
    payment_is_script=st.booleans(),
    stake=st.none() | credentials,
    stake_is_script=st.booleans(),
)
def test_shelley_address_round_trips_through_parse_address(
    network_id, payment, payment_is_script, stake, stake_is_script
):
    """shelley_address -> text -> parse_address returns the same credentials and parts."""
    built = shelley_address(
        network_id=network_id,
        payment_cred=payment,
        payment_is_script=payment_is_script,
        stake_cred=stake,
        stake_is_script=stake_is_script,
    )
    assert built.text.startswith("addr1" if network_id == 1 else "addr_test1")
    parsed = parse_address(built.text)
    assert parsed == built
    assert parsed.payment_cred == payment
    assert parsed.payment_is_script == payment_is_script
    if stake is None:
        assert parsed.stake_address_raw is None
        assert len(parsed.raw) == 29
    else:
        assert parsed.stake_address_raw is not None
        assert parsed.stake_address_raw[1:] == stake
        assert parse_stake_address(parsed.stake_address_raw) == parsed.stake_address_raw
        stake_text = stake_address_text(parsed.stake_address_raw)
        assert parse_stake_address(stake_text) == parsed.stake_address_raw
        assert (parsed.stake_address_raw[0] >> 4 == 15) == stake_is_script


@given(
    network_id=st.integers(0, 15),
    payment=credentials,
    stake=credentials,
    data_index=st.integers(min_value=0),
    new=st.integers(1, 31),
)
def test_parse_address_detects_a_flipped_character(network_id, payment, stake, data_index, new):
    """One changed data character in an address is always caught."""
    text = shelley_address(network_id=network_id, payment_cred=payment, stake_cred=stake).text
    start = text.index("1") + 1
    position = start + data_index % (len(text) - start)
    old = BECH32_CHARSET.index(text[position])
    flipped = text[:position] + BECH32_CHARSET[(old + new) % 32] + text[position + 1 :]
    with pytest.raises(InvalidInputError, match=r"^address: "):
        parse_address(flipped)


def test_shelley_address_validates_its_arguments():
    """Credential lengths, network_id range and bool flags are checked."""
    with pytest.raises(InvalidInputError, match=r"^network_id: expected 0..15, got 16$"):
        shelley_address(network_id=16, payment_cred=PAYMENT_KEY_HASH)
    with pytest.raises(InvalidInputError, match=r"^network_id: expected an int"):
        shelley_address(network_id=True, payment_cred=PAYMENT_KEY_HASH)
    with pytest.raises(InvalidInputError, match=r"^payment_cred: expected 28 bytes, got 32$"):
        shelley_address(network_id=1, payment_cred=bytes(32))
    with pytest.raises(InvalidInputError, match=r"^stake_cred: expected 28 bytes, got 27$"):
        shelley_address(network_id=1, payment_cred=PAYMENT_KEY_HASH, stake_cred=bytes(27))
    with pytest.raises(InvalidInputError, match=r"^payment_is_script: expected a bool"):
        shelley_address(network_id=1, payment_cred=PAYMENT_KEY_HASH, payment_is_script=1)  # type: ignore[arg-type]


def test_cip19_stake_address_vectors():
    """CIP-19 reward addresses (types 14, 15, testnet) parse to 29 bytes and render back."""
    assert parse_stake_address(CIP19_STAKE_KEY) == b"\xe1" + STAKE_KEY_HASH
    assert parse_stake_address(CIP19_STAKE_SCRIPT) == b"\xf1" + SCRIPT_HASH
    assert parse_stake_address(CIP19_STAKE_KEY_TEST) == b"\xe0" + STAKE_KEY_HASH
    assert stake_address_text(b"\xe1" + STAKE_KEY_HASH) == CIP19_STAKE_KEY
    assert stake_address_text(b"\xf1" + SCRIPT_HASH) == CIP19_STAKE_SCRIPT
    assert stake_address_text(bytearray(b"\xe0" + STAKE_KEY_HASH)) == CIP19_STAKE_KEY_TEST  # type: ignore[arg-type]
    assert parse_stake_address(CIP19_STAKE_KEY.upper()) == b"\xe1" + STAKE_KEY_HASH


@given(header=st.sampled_from([0xE0, 0xE1, 0xF0, 0xF1]), credential=credentials)
def test_stake_address_text_round_trips(header, credential):
    """stake_address_text and parse_stake_address are inverse on the 29 raw bytes."""
    raw = bytes([header]) + credential
    text = stake_address_text(raw)
    assert text.startswith("stake1" if header & 0x0F == 1 else "stake_test1")
    assert parse_stake_address(text) == raw
    assert parse_stake_address(raw) == raw
    assert parse_stake_address(memoryview(raw)) == raw  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (CIP19_MAINNET[6], "expected the prefix 'stake' or 'stake_test'"),
        # The CIP-19 table's illustrative "stake" string has a type-6 (enterprise) header.
        ("stake1vpu5vlrf4xkxv2qpwngf6cjhtw542ayty80v8dyr49rf5egfu2p0u", "not a stake address"),
        (_addr("stake", b"\xe0" + STAKE_KEY_HASH), "does not match network"),
        (_addr("stake_test", b"\xe1" + STAKE_KEY_HASH), "does not match network"),
        (_addr("stake", b"\xe1" + STAKE_KEY_HASH + b"\x00"), "29 bytes"),
        (b"\x61" + STAKE_KEY_HASH, "not a stake address"),
        (b"\xe1" + STAKE_KEY_HASH[:-1], "29 bytes"),
        ("ab" * 28, "separator"),
    ],
)
def test_parse_stake_address_rejects_malformed(value, fragment):
    """Payment addresses, wrong headers, lengths and network mismatches are rejected."""
    with pytest.raises(InvalidInputError, match=r"^stake_address: ") as info:
        parse_stake_address(value)
    assert fragment in str(info.value)


def test_stake_address_text_rejects_bad_raw():
    """A wrong header or length is reported against the argument ``raw``."""
    with pytest.raises(InvalidInputError, match=r"^raw: header 0x61"):
        stake_address_text(b"\x61" + STAKE_KEY_HASH)
    with pytest.raises(InvalidInputError, match=r"^raw: expected 29 bytes, got 28$"):
        stake_address_text(STAKE_KEY_HASH)


# ---------------------------------------------------------------------------------------------
# Byron addresses
# ---------------------------------------------------------------------------------------------


def _cbor_head(major: int, value: int) -> bytes:
    """A test-side CBOR header encoder, independent of the module's."""
    if value < 24:
        return bytes([major << 5 | value])
    if value < 0x100:
        return bytes([major << 5 | 24, value])
    if value < 0x10000:
        return bytes([major << 5 | 25]) + value.to_bytes(2, "big")
    return bytes([major << 5 | 26]) + value.to_bytes(4, "big")


def _cbor_attributes(entries: dict[int, bytes]) -> bytes:
    body = b"".join(_cbor_head(0, k) + _cbor_head(2, len(v)) + v for k, v in entries.items())
    return _cbor_head(5, len(entries)) + body


def _byron_raw(payload: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(payload) if crc is None else crc
    return b"\x82\xd8\x18" + _cbor_head(2, len(payload)) + payload + _cbor_head(0, crc)


def test_cip19_byron_vector_parses():
    """The CIP-19 Byron (testnet, with attributes) example parses and keeps its text."""
    parsed = parse_address(CIP19_BYRON)
    assert parsed.era == "byron"
    assert parsed.text == CIP19_BYRON
    assert base58_encode(parsed.raw) == CIP19_BYRON
    assert (parsed.network_id, parsed.payment_cred, parsed.stake_address_raw) == (None, None, None)
    assert parsed.raw[:3] == b"\x82\xd8\x18"


def test_byron_address_matches_a_known_icarus_address():
    """A published Icarus-style root reproduces its published Ae2... address."""
    root = bytes.fromhex("a5e1c8d86ae0c7006afea4369c55675bb80853937e0080e17a8117d2")
    expected = "Ae2tdPwUPEZDMm8GdfnY8ibhFPd5GBjyRARL7A5DbatemFheedMwB4WTj7z"
    built = byron_address(root)
    assert built.text == expected
    assert parse_address(expected) == built


@given(
    root=credentials,
    entries=st.dictionaries(st.integers(0, 300), st.binary(max_size=40), max_size=3),
)
def test_byron_address_round_trips_through_parse_address(root, entries):
    """byron_address -> Base58 -> parse_address gives back the same ParsedAddress."""
    attributes = _cbor_attributes(entries)
    built = byron_address(root, attributes=attributes)
    payload = b"\x83\x58\x1c" + root + attributes + b"\x00"
    assert built.raw == _byron_raw(payload)
    assert built == ParsedAddress(
        text=base58_encode(built.raw),
        raw=built.raw,
        era="byron",
        network_id=None,
        payment_cred=None,
        payment_is_script=False,
        stake_address_raw=None,
    )
    assert parse_address(built.text) == built


@given(root=credentials, index=st.integers(0, 27), bit=st.integers(0, 7))
def test_byron_flipped_root_byte_fails_the_crc(root, index, bit):
    """Flipping any bit of the root (inside the payload) is caught by the CRC32."""
    raw = bytearray(byron_address(root).raw)
    raw[8 + index] ^= 1 << bit
    with pytest.raises(InvalidInputError, match=r"^address: Byron address CRC32 mismatch"):
        parse_address(base58_encode(bytes(raw)))


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (_byron_raw(b"\x83\x58\x1c" + bytes(28) + b"\xa0\x00", crc=12345), "CRC32 mismatch"),
        (_byron_raw(b"\x83\x58\x1c" + bytes(28) + b"\xa0\x00") + b"\x00", "trailing bytes"),
        (_byron_raw(b"\x83\x58\x1c" + bytes(28) + b"\xa0\x00\x00"), "trailing bytes"),
        (_byron_raw(b"\x83\x58\x1b" + bytes(27) + b"\xa0\x00"), "root has 27 bytes"),
        (_byron_raw(b"\x83\x58\x1c" + bytes(28) + b"\xa0\x07"), "unknown Byron address type"),
        (_byron_raw(b"\x82\x58\x1c" + bytes(28) + b"\xa0"), "3-element payload"),
        (_byron_raw(b"\x83\x58\x1c" + bytes(28) + b"\x80\x00"), "attributes map"),
        (_byron_raw(b"\x83\x58\x1c" + bytes(28) + b"\xbf\xff\x00"), "indefinite"),
        (_byron_raw(b"\x83\x58\x1c" + bytes(28) + b"\xa1\x01\x02\x00"), "byte-string"),
        (_byron_raw(b"\x83\x58\x1c" + bytes(28) + b"\xa1\x01\x45\x00"), "truncated"),
        (b"\x82\xd8\x19\x41\x00\x00", "tag 24"),
        (b"\x83\xd8\x18\x41\x00\x00", "2-element array"),
        (b"\x82\xd8\x18\x5a\xff\xff\xff\xff", "truncated"),
        (b"\x82", "truncated"),
    ],
)
def test_parse_address_rejects_malformed_byron(raw, fragment):
    """Bad CRCs, trailing bytes, wrong root size, bad attributes and bad CBOR are rejected."""
    with pytest.raises(InvalidInputError, match=r"^address: ") as info:
        parse_address(base58_encode(raw))
    assert fragment in str(info.value)


def test_byron_address_validates_its_arguments():
    """The root must be 28 bytes and attributes a CBOR map with nothing after it."""
    with pytest.raises(InvalidInputError, match=r"^root: expected 28 bytes, got 32$"):
        byron_address(bytes(32))
    with pytest.raises(InvalidInputError, match=r"^attributes: trailing bytes"):
        byron_address(bytes(28), attributes=b"\xa0\x00")
    with pytest.raises(InvalidInputError, match=r"^attributes: .*attributes map"):
        byron_address(bytes(28), attributes=b"\x80")


# ---------------------------------------------------------------------------------------------
# Pool and DRep ids
# ---------------------------------------------------------------------------------------------

POOL_BECH32 = "pool1pu5jlj4q9w9jlxeu370a3c9myx47md5j5m2str0naunn2q3lkdy"
POOL_HEX = "0f292fcaa02b8b2f9b3c8f9fd8e0bb21abedb692a6d5058df3ef2735"


def test_pool_id_known_value_in_all_forms():
    """A mainnet pool id parses from bech32, hex (any case) and raw bytes; and renders back."""
    raw = bytes.fromhex(POOL_HEX)
    assert parse_pool_id(POOL_BECH32) == raw
    assert parse_pool_id(POOL_BECH32.upper()) == raw
    assert parse_pool_id(POOL_HEX) == raw
    assert parse_pool_id(POOL_HEX.upper()) == raw
    assert parse_pool_id(raw) == raw
    assert pool_id_text(raw) == POOL_BECH32


@given(raw=credentials)
def test_pool_id_round_trip(raw):
    """pool_id_text and parse_pool_id are inverse."""
    assert parse_pool_id(pool_id_text(raw)) == raw


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("drep15k6929drl7xt0spvudgcxndryn4kmlzpk4meed0xhqe25nle07s", "expected the prefix 'pool'"),
        (bech32_encode("pool", bytes(29)), "28 bytes, got 29"),
        (POOL_HEX[:-1], "56 hex characters"),
        (bytes(27), "expected 28 bytes, got 27"),
        (POOL_BECH32[:-1] + "x", "checksum"),
    ],
)
def test_parse_pool_id_rejects_malformed(value, fragment):
    """Other prefixes, lengths and checksums are rejected."""
    with pytest.raises(InvalidInputError, match=r"^pool_id: ") as info:
        parse_pool_id(value)
    assert fragment in str(info.value)


# CIP-105 test vector 1 (with its CIP-129 forms).
DREP_KEY_HASH = bytes.fromhex("a5b45515a3ff8cb7c02ce351834da324eb6dfc41b5779cb5e6b832aa")
DREP_SCRIPT_HASH = bytes.fromhex("d0657126dbf0c135a7224d91ca068f5bf769af6d1f1df0bce5170ec5")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("drep15k6929drl7xt0spvudgcxndryn4kmlzpk4meed0xhqe25nle07s", DREP_KEY_HASH),
        ("drep1y2jmg4g450lced7q9n34rq6d5vjwkm0ugx6h0894u6ur92s9txn3a", DREP_KEY_HASH),
        ("drep_script16pjhzfkm7rqntfezfkgu5p50t0mkntmdruwlp089zu8v29l95rg", DREP_SCRIPT_HASH),
        ("drep1y0gx2ufxm0cvzdd8yfxerjsx3adlw6d0d503mu9uu5tsa3gtkvwpe", DREP_SCRIPT_HASH),
        (DREP_KEY_HASH.hex(), DREP_KEY_HASH),
        (DREP_KEY_HASH, DREP_KEY_HASH),
    ],
)
def test_parse_drep_id_cip105_and_cip129_vectors(value, expected):
    """CIP-105 and CIP-129 DRep ids, hex and raw bytes all give the 28-byte credential."""
    assert parse_drep_id(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (bech32_encode("drep", b"\x12" + DREP_KEY_HASH), "header 0x12"),
        (bech32_encode("drep_script", b"\x23" + DREP_KEY_HASH), "got 29"),
        (bech32_encode("drep", DREP_KEY_HASH[:-1]), "got 27"),
        (
            "drep_vk17axh4sc9zwkpsft3tlgpjemfwc0u5mnld80r85zw7zdqcst6w54sdv4a4e",
            "expected the prefix",
        ),
        (POOL_BECH32, "expected the prefix 'drep' or 'drep_script'"),
        ("not a drep", "drep1"),
    ],
)
def test_parse_drep_id_rejects_malformed(value, fragment):
    """Non-DRep CIP-129 headers, wrong lengths and other prefixes are rejected."""
    with pytest.raises(InvalidInputError, match=r"^drep_id: ") as info:
        parse_drep_id(value)
    assert fragment in str(info.value)


# ---------------------------------------------------------------------------------------------
# Native assets
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "name", "fingerprint"),
    [
        (CIP14_POLICY_A, b"", "asset1rjklcrnsdzqp65wjgrg55sy9723kw09mlgvlc3"),
        (CIP14_POLICY_A, PATATE, "asset13n25uv0yaf5kus35fm2k86cqy60z58d9xmde92"),
        (CIP14_POLICY_B, PATATE, "asset1hv4p5tv2a837mzqrst04d0dcptdjmluqvdx9k3"),
    ],
)
def test_cip14_fingerprint_vectors(policy, name, fingerprint):
    """asset_fingerprint reproduces the CIP-14 test vectors, which parse_fingerprint accepts."""
    assert asset_fingerprint(policy, name) == fingerprint
    assert parse_fingerprint(fingerprint) == fingerprint
    assert parse_fingerprint(fingerprint.upper()) == fingerprint


@given(policy=credentials, name=st.binary(max_size=32))
def test_asset_fingerprint_is_bech32_of_blake2b_160(policy, name):
    """The fingerprint decodes to blake2b-160(policy || name) under hrp 'asset'."""
    digest = hashlib.blake2b(policy + name, digest_size=20).digest()
    assert bech32_decode(asset_fingerprint(policy, name)) == ("asset", digest)


def test_asset_fingerprint_validates_lengths():
    """The policy must be 28 bytes and the name at most 32."""
    with pytest.raises(InvalidInputError, match=r"^policy: expected 28 bytes"):
        asset_fingerprint(bytes(27), b"")
    with pytest.raises(InvalidInputError, match=r"^name: an asset name has at most 32 bytes"):
        asset_fingerprint(CIP14_POLICY_A, bytes(33))


@given(policy=credentials, name=st.binary(max_size=32), dotted=st.booleans(), upper=st.booleans())
def test_parse_asset_id_round_trip(policy, name, dotted, upper):
    """policy+name hex, concatenated or dot-separated, in any case, gives the AssetId."""
    text = policy.hex() + ("." if dotted else "") + name.hex()
    assert parse_asset_id(text.upper() if upper else text) == AssetId(policy=policy, name=name)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("asset1rjklcrnsdzqp65wjgrg55sy9723kw09mlgvlc3", "use parse_fingerprint"),
        ("ASSET1RJKLCRNSDZQP65WJGRG55SY9723KW09MLGVLC3", "use parse_fingerprint"),
        (CIP14_POLICY_A.hex()[:-2], "56-hex-character policy"),
        (CIP14_POLICY_A.hex()[:-2] + ".5041", "56-hex-character policy"),
        (CIP14_POLICY_A.hex() + "504", "even number"),
        (CIP14_POLICY_A.hex() + ".zz", "even number"),
        (CIP14_POLICY_A.hex() + "." + "00" * 33, "at most 64 hex characters"),
        (CIP14_POLICY_A.hex() + "00" * 33, "at most 64 hex characters"),
        (CIP14_POLICY_A.hex() + ".50.41", "even number"),
        (" " + CIP14_POLICY_A.hex(), "56-hex-character policy"),
    ],
)
def test_parse_asset_id_rejects_malformed(value, fragment):
    """Fingerprints, short policies, odd or non-hex names and long names are rejected."""
    with pytest.raises(InvalidInputError, match=r"^asset: ") as info:
        parse_asset_id(value)
    assert fragment in str(info.value)


def test_parse_fingerprint_rejects_wrong_prefix_and_length():
    """Only an asset1... bech32 with 20 data bytes is a fingerprint."""
    with pytest.raises(InvalidInputError, match=r"^fingerprint: expected the prefix 'asset'"):
        parse_fingerprint(POOL_BECH32)
    with pytest.raises(InvalidInputError, match=r"^fingerprint: a fingerprint has 20 bytes"):
        parse_fingerprint(bech32_encode("asset", bytes(28)))


# ---------------------------------------------------------------------------------------------
# Query-layer helpers
# ---------------------------------------------------------------------------------------------


def test_parse_limit_accepts_the_range_and_rejects_the_rest():
    """parse_limit accepts ints in 1..maximum and rejects bools, floats, strings, out of range."""
    assert parse_limit(1) == 1
    assert parse_limit(10_000) == 10_000
    assert parse_limit(50, maximum=50) == 50
    for bad in (0, -1, 10_001, True, 1.0, "5", None, 10**5000):
        with pytest.raises(InvalidInputError, match=r"^limit: "):
            parse_limit(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"^page_size: expected 1..50, got 51$"):
        parse_limit(51, arg="page_size", maximum=50)


def test_parse_non_negative_fits_a_bigint():
    """parse_non_negative accepts 0..2**63-1 ints and rejects negatives, overflow, bools."""
    assert parse_non_negative(0, arg="offset") == 0
    assert parse_non_negative(2**63 - 1, arg="offset") == 2**63 - 1
    for bad in (-1, 2**63, 10**5000, False, 0.0, "0", None):
        with pytest.raises(InvalidInputError, match=r"^offset: ") as info:
            parse_non_negative(bad, arg="offset")  # type: ignore[arg-type]
        assert len(str(info.value)) < 120


def test_all_is_sorted_and_complete():
    """The module's __all__ is sorted and lists exactly the public names."""
    public = {
        name
        for name, value in vars(codecs).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == codecs.__name__
    }
    assert codecs.__all__ == sorted(codecs.__all__)
    assert set(codecs.__all__) == public
