"""Input and output codecs: hex hashes, bech32, Base58, Cardano addresses, pool/DRep ids, assets.

Every ``parse_*`` function validates its input before any SQL is built and raises
:class:`~dbsync_core.exceptions.InvalidInputError` whose message starts with the argument name.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from typing import TYPE_CHECKING, Final

import attrs

from dbsync_core.exceptions import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "AssetId",
    "ParsedAddress",
    "asset_fingerprint",
    "base58_decode",
    "base58_encode",
    "bech32_decode",
    "bech32_encode",
    "byron_address",
    "parse_address",
    "parse_asset_id",
    "parse_drep_id",
    "parse_fingerprint",
    "parse_hash",
    "parse_hashes",
    "parse_limit",
    "parse_non_negative",
    "parse_pool_id",
    "parse_stake_address",
    "pool_id_text",
    "shelley_address",
    "stake_address_text",
]

# ---------------------------------------------------------------------------------------------
# Error helpers
# ---------------------------------------------------------------------------------------------

_PREVIEW_CHARS: Final = 80


def _err(arg: str, message: str) -> InvalidInputError:
    """An InvalidInputError whose message starts with the argument name."""
    return InvalidInputError(f"{arg}: {message}")


def _show(value: object) -> str:
    """A short, escaped rendering of a bad input: never more than ~80 characters of it."""
    if isinstance(value, str):
        text = repr(value[: _PREVIEW_CHARS + 1])
        return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 3] + "..."
    if isinstance(value, bytes | bytearray):
        return f"{type(value).__name__} of length {len(value)}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"int {_show_int(value)}"
    return f"a value of type {type(value).__name__}"


def _show_int(number: int) -> str:
    """An int for a message; a huge one by its size (str() of it may even raise)."""
    return str(number) if number.bit_length() < 200 else f"an int of {number.bit_length()} bits"


def _bytes_like(value: object, arg: str) -> bytes | None:
    """``value`` as bytes if it is bytes, bytearray or memoryview, else None."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, memoryview):
        try:
            return value.tobytes()
        except ValueError:  # a released memoryview
            raise _err(arg, "expected bytes, got a released memoryview") from None
    return None


def _fixed_bytes(value: object, size: int, arg: str) -> bytes:
    """Exactly ``size`` raw bytes (bytes, bytearray or memoryview), as bytes."""
    raw = _bytes_like(value, arg)
    if raw is None:
        raise _err(arg, f"expected {size} bytes, got {_show(value)}")
    if len(raw) != size:
        raise _err(arg, f"expected {size} bytes, got {len(raw)}")
    return raw


def _require_str(value: object, arg: str, what: str) -> str:
    if not isinstance(value, str):
        raise _err(arg, f"expected {what} as str, got {_show(value)}")
    return value


def _require_int(value: object, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(arg, f"expected an int, got {_show(value)}")
    return value


# ---------------------------------------------------------------------------------------------
# Hex hashes
# ---------------------------------------------------------------------------------------------

_HEX_RE: Final = re.compile(r"[0-9a-fA-F]*")


def _is_hex(value: str) -> bool:
    return _HEX_RE.fullmatch(value) is not None


def _check_size(size: object, arg: str) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise _err(arg, f"size must be a positive int, got {_show(size)}")
    return size


def _hash(value: object, size: int, arg: str) -> bytes:
    if isinstance(value, str):
        if len(value) != 2 * size:
            raise _err(arg, f"expected {2 * size} hex characters, got {len(value)}")
        if not _is_hex(value):
            raise _err(arg, f"expected only hex characters 0-9a-f, got {_show(value)}")
        return bytes.fromhex(value)
    raw = _bytes_like(value, arg)
    if raw is None:
        raise _err(arg, f"expected a hex str or bytes, got {_show(value)}")
    if len(raw) != size:
        raise _err(arg, f"expected {size} bytes, got {len(raw)}")
    return raw


def parse_hash(value: str | bytes, *, size: int = 32, arg: str = "hash") -> bytes:
    """A fixed-size hash given as hex text (any case) or as ``size`` raw bytes, as bytes."""
    return _hash(value, _check_size(size, arg), arg)


def parse_hashes(
    values: Iterable[str | bytes],
    *,
    size: int = 32,
    arg: str = "hashes",
    max_items: int = 10_000,
) -> list[bytes]:
    """A batch of hashes (see :func:`parse_hash`); errors name the index, duplicates are kept."""
    size = _check_size(size, arg)
    if isinstance(max_items, bool) or not isinstance(max_items, int):
        raise _err(arg, f"max_items must be an int, got {_show(max_items)}")
    if isinstance(values, str | bytes | bytearray | memoryview):
        raise _err(arg, "expected an iterable of hashes, got a single str/bytes; wrap it in a list")
    try:
        iterator = iter(values)
    except TypeError:
        raise _err(arg, f"expected an iterable of hashes, got {_show(values)}") from None
    result: list[bytes] = []
    for index, item in enumerate(iterator):
        if index >= max_items:
            raise _err(arg, f"expected at most {_show_int(max_items)} items")
        result.append(_hash(item, size, f"{arg}[{index}]"))
    return result


# ---------------------------------------------------------------------------------------------
# Bech32 (BIP-173, constant 1), without the 90-character limit, as Cardano uses it
# ---------------------------------------------------------------------------------------------

_BECH32_CHARSET: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_VALUES: Final = {char: index for index, char in enumerate(_BECH32_CHARSET)}
_BECH32_MAX_LENGTH: Final = 1023
_BECH32_PRINTABLE_RE: Final = re.compile(r"[\x21-\x7e]*")
_BECH32_GENERATOR: Final = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod_row(top: int) -> int:
    row = 0
    for bit, generator in enumerate(_BECH32_GENERATOR):
        if (top >> bit) & 1:
            row ^= generator
    return row


# The generator XOR for each value of the five bits shifted out of the checksum state.
_POLYMOD_TABLE: Final = tuple(_polymod_row(top) for top in range(32))


def _polymod(hrp: str, data: Iterable[int]) -> int:
    """The BCH checksum state over the expanded hrp and the 5-bit data values."""
    check = 1
    table = _POLYMOD_TABLE
    codes = [ord(char) for char in hrp]
    for value in (*[code >> 5 for code in codes], 0, *[code & 31 for code in codes], *data):
        check = ((check & 0x1FFFFFF) << 5) ^ value ^ table[check >> 25]
    return check


def _to_5bit(data: bytes) -> list[int]:
    """8-bit bytes as 5-bit groups, the last one zero-padded."""
    groups: list[int] = []
    accumulator = 0
    bits = 0
    for byte in data:
        accumulator = ((accumulator << 8) | byte) & 0xFFF
        bits += 8
        while bits >= 5:
            bits -= 5
            groups.append((accumulator >> bits) & 31)
    if bits:
        groups.append((accumulator << (5 - bits)) & 31)
    return groups


def _from_5bit(groups: list[int]) -> bytes | None:
    """5-bit groups as bytes; None when the padding is longer than 4 bits or not zero."""
    out = bytearray()
    accumulator = 0
    bits = 0
    for group in groups:
        accumulator = ((accumulator << 5) | group) & 0xFFF
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
    if bits >= 5 or (accumulator & ((1 << bits) - 1)):
        return None
    return bytes(out)


def bech32_encode(hrp: str, data: bytes) -> str:
    """``data`` as lowercase bech32 under ``hrp`` (BIP-173 checksum, up to 1023 characters)."""
    hrp = _require_str(hrp, "hrp", "a human-readable prefix")
    if not hrp or _BECH32_PRINTABLE_RE.fullmatch(hrp) is None:
        raise _err("hrp", f"expected 1+ printable ASCII characters, got {_show(hrp)}")
    if hrp != hrp.lower():
        raise _err("hrp", f"expected a lowercase prefix, got {_show(hrp)}")
    if len(hrp) + 7 > _BECH32_MAX_LENGTH:
        raise _err("hrp", f"too long for bech32 (limit {_BECH32_MAX_LENGTH} characters)")
    raw = _bytes_like(data, "data")
    if raw is None:
        raise _err("data", f"expected bytes, got {_show(data)}")
    groups = _to_5bit(raw)
    if len(hrp) + 1 + len(groups) + 6 > _BECH32_MAX_LENGTH:
        raise _err("data", f"too long for bech32 (limit {_BECH32_MAX_LENGTH} characters)")
    check = _polymod(hrp, [*groups, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(check >> (5 * (5 - index))) & 31 for index in range(6)]
    charset = _BECH32_CHARSET
    return hrp + "1" + "".join(charset[group] for group in groups + checksum)


def bech32_decode(value: str, *, arg: str = "bech32") -> tuple[str, bytes]:
    """A bech32 string (one case throughout) as ``(hrp, data)``; the hrp is lowercased."""
    value = _require_str(value, arg, "a bech32 string")
    if len(value) > _BECH32_MAX_LENGTH:
        raise _err(arg, f"expected at most {_BECH32_MAX_LENGTH} characters, got {len(value)}")
    if _BECH32_PRINTABLE_RE.fullmatch(value) is None:
        raise _err(arg, f"expected printable ASCII without spaces, got {_show(value)}")
    lower = value.lower()
    if lower != value and value.upper() != value:
        raise _err(arg, f"mixed upper and lower case, got {_show(value)}")
    separator = lower.rfind("1")
    if separator < 0:
        raise _err(arg, f"missing the '1' separator of bech32, got {_show(value)}")
    if separator == 0:
        raise _err(arg, "empty human-readable prefix before the '1' separator")
    if len(lower) - separator - 1 < 6:
        raise _err(arg, "too short for a bech32 checksum")
    hrp = lower[:separator]
    values = _BECH32_VALUES
    try:
        groups = [values[char] for char in lower[separator + 1 :]]
    except KeyError as exc:
        raise _err(arg, f"invalid bech32 character {exc.args[0]!r}") from None
    if _polymod(hrp, groups) != 1:
        raise _err(arg, f"bech32 checksum mismatch (mistyped or bech32m?) in {_show(value)}")
    data = _from_5bit(groups[:-6])
    if data is None:
        raise _err(arg, "invalid bech32 padding")
    return hrp, data


def _bech32_expect(value: str, arg: str, hrps: tuple[str, ...]) -> tuple[str, bytes]:
    """Decode bech32 and require one of ``hrps``."""
    hrp, data = bech32_decode(value, arg=arg)
    if hrp not in hrps:
        expected = " or ".join(repr(h) for h in hrps)
        raise _err(arg, f"expected the prefix {expected}, got {_show(hrp)}")
    return hrp, data


# ---------------------------------------------------------------------------------------------
# Base58 (Bitcoin alphabet)
# ---------------------------------------------------------------------------------------------

_BASE58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_VALUES: Final = {char: index for index, char in enumerate(_BASE58_ALPHABET)}
_BASE58_RE: Final = re.compile(f"[{_BASE58_ALPHABET}]+")
_BASE58_MAX_LENGTH: Final = 8192
_BASE58_CHUNK: Final = 10  # digits handled per big-int operation
_BASE58_CHUNK_BASE: Final = 58**_BASE58_CHUNK


def base58_encode(data: bytes) -> str:
    """``data`` as Base58 (Bitcoin alphabet); each leading zero byte becomes a ``1``."""
    raw = _bytes_like(data, "data")
    if raw is None:
        raise _err("data", f"expected bytes, got {_show(data)}")
    zeros = len(raw) - len(raw.lstrip(b"\0"))
    number = int.from_bytes(raw, "big")
    alphabet = _BASE58_ALPHABET
    chunks: list[str] = []
    while number:
        number, chunk = divmod(number, _BASE58_CHUNK_BASE)
        digits = []
        for _ in range(_BASE58_CHUNK):
            chunk, digit = divmod(chunk, 58)
            digits.append(alphabet[digit])
        chunks.append("".join(reversed(digits)))
    body = "".join(reversed(chunks)).lstrip("1")
    return "1" * zeros + body


def base58_decode(value: str, *, arg: str = "base58") -> bytes:
    """A Base58 (Bitcoin alphabet) string as bytes; each leading ``1`` becomes a zero byte."""
    value = _require_str(value, arg, "a Base58 string")
    if len(value) > _BASE58_MAX_LENGTH:
        raise _err(arg, f"expected at most {_BASE58_MAX_LENGTH} characters, got {len(value)}")
    values = _BASE58_VALUES
    number = 0
    for start in range(0, len(value), _BASE58_CHUNK):
        chunk = value[start : start + _BASE58_CHUNK]
        part = 0
        for char in chunk:
            digit = values.get(char)
            if digit is None:
                raise _err(arg, f"invalid Base58 character {_show(char)}")
            part = part * 58 + digit
        number = number * 58 ** len(chunk) + part
    zeros = len(value) - len(value.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


# ---------------------------------------------------------------------------------------------
# Shelley addresses (CIP-19)
# ---------------------------------------------------------------------------------------------

_CRED_SIZE: Final = 28
_MAINNET: Final = 1
_PAYMENT_HRPS: Final = ("addr", "addr_test")
_STAKE_HRPS: Final = ("stake", "stake_test")


@attrs.frozen
class ParsedAddress:
    """A validated payment address: canonical text, raw bytes and the parts queries filter on."""

    text: str
    raw: bytes
    era: str  # "shelley" or "byron"
    network_id: int | None
    payment_cred: bytes | None
    payment_is_script: bool
    stake_address_raw: bytes | None


def _payment_hrp(network_id: int) -> str:
    """``addr`` on mainnet (network 1), ``addr_test`` on every other network."""
    return "addr" if network_id == _MAINNET else "addr_test"


def _stake_hrp(network_id: int) -> str:
    """``stake`` on mainnet (network 1), ``stake_test`` on every other network."""
    return "stake" if network_id == _MAINNET else "stake_test"


def _skip_pointer(raw: bytes, start: int, arg: str) -> None:
    """Check that ``raw[start:]`` is exactly three base-128 variable-length naturals."""
    position = start
    for _ in range(3):
        while True:
            if position >= len(raw):
                raise _err(arg, "truncated stake pointer in a pointer address")
            byte = raw[position]
            position += 1
            if not byte & 0x80:
                break
    if position != len(raw):
        raise _err(arg, f"{len(raw) - position} trailing bytes after the stake pointer")


def _parse_shelley(value: str, arg: str) -> ParsedAddress:
    hrp, raw = bech32_decode(value, arg=arg)
    if not raw:
        raise _err(arg, "no address bytes after the prefix")
    kind, network_id = raw[0] >> 4, raw[0] & 0x0F
    if kind >= 14:
        raise _err(arg, "this is a stake (reward) address; use parse_stake_address")
    if kind == 8:
        raise _err(arg, "a Byron address must be Base58, not bech32")
    if kind > 8:
        raise _err(arg, f"unknown address type {kind}")
    expected_hrp = _payment_hrp(network_id)
    if hrp != expected_hrp:
        raise _err(arg, f"prefix {hrp!r} does not match network id {network_id} in the header")
    if kind <= 3:
        if len(raw) != 1 + 2 * _CRED_SIZE:
            raise _err(arg, f"a base address has 57 bytes, got {len(raw)}")
        stake_header = (0xF0 if kind & 2 else 0xE0) | network_id
        stake_raw: bytes | None = bytes((stake_header,)) + raw[1 + _CRED_SIZE :]
    elif kind <= 5:
        _skip_pointer(raw, 1 + _CRED_SIZE, arg)
        stake_raw = None
    else:
        if len(raw) != 1 + _CRED_SIZE:
            raise _err(arg, f"an enterprise address has 29 bytes, got {len(raw)}")
        stake_raw = None
    return ParsedAddress(
        text=value.lower(),
        raw=raw,
        era="shelley",
        network_id=network_id,
        payment_cred=raw[1 : 1 + _CRED_SIZE],
        payment_is_script=bool(kind & 1),
        stake_address_raw=stake_raw,
    )


def parse_address(value: str, *, arg: str = "address") -> ParsedAddress:
    """A Shelley payment address (bech32 ``addr1…``/``addr_test1…``) or a Byron Base58 one."""
    value = _require_str(value, arg, "an address")
    if not value:
        raise _err(arg, "expected an address, got an empty string")
    separator = value.rfind("1")
    prefix = value[:separator].lower() if separator > 0 else ""
    if prefix in _PAYMENT_HRPS:
        return _parse_shelley(value, arg)
    if prefix in _STAKE_HRPS:
        raise _err(arg, "this is a stake (reward) address; use parse_stake_address")
    if _BASE58_RE.fullmatch(value) is not None:
        return _parse_byron(value, arg)
    raise _err(
        arg,
        f"expected a bech32 addr1.../addr_test1... or a Base58 Byron address, got {_show(value)}",
    )


def _stake_raw(raw: bytes, arg: str) -> bytes:
    """Check 29 raw reward-address bytes: header type 14 (key) or 15 (script)."""
    if len(raw) != 1 + _CRED_SIZE:
        raise _err(arg, f"a stake address has 29 bytes, got {len(raw)}")
    if raw[0] >> 4 not in (14, 15):
        raise _err(arg, f"header 0x{raw[0]:02x} is not a stake address (expected 0xe_ or 0xf_)")
    return raw


def parse_stake_address(value: str | bytes, *, arg: str = "stake_address") -> bytes:
    """A ``stake1…``/``stake_test1…`` address or its 29 raw bytes, as db-sync's ``hash_raw``."""
    if isinstance(value, str):
        hrp, raw = _bech32_expect(value, arg, _STAKE_HRPS)
        _stake_raw(raw, arg)
        if hrp != _stake_hrp(raw[0] & 0x0F):
            raise _err(arg, f"prefix {hrp!r} does not match network id {raw[0] & 0x0F}")
        return raw
    raw_bytes = _bytes_like(value, arg)
    if raw_bytes is None:
        raise _err(arg, f"expected a bech32 str or 29 bytes, got {_show(value)}")
    return _stake_raw(raw_bytes, arg)


def stake_address_text(raw: bytes) -> str:
    """29 raw reward-address bytes as ``stake1…``/``stake_test1…`` (db-sync's ``view``)."""
    checked = _stake_raw(_fixed_bytes(raw, 1 + _CRED_SIZE, "raw"), "raw")
    return bech32_encode(_stake_hrp(checked[0] & 0x0F), checked)


def _require_bool(value: object, arg: str) -> bool:
    if not isinstance(value, bool):
        raise _err(arg, f"expected a bool, got {_show(value)}")
    return value


def shelley_address(
    *,
    network_id: int,
    payment_cred: bytes,
    payment_is_script: bool = False,
    stake_cred: bytes | None = None,
    stake_is_script: bool = False,
) -> ParsedAddress:
    """A base address (types 0-3) or, without ``stake_cred``, an enterprise one (6/7)."""
    network_id = _require_int(network_id, "network_id")
    if not 0 <= network_id <= 15:
        raise _err("network_id", f"expected 0..15, got {_show_int(network_id)}")
    payment = _fixed_bytes(payment_cred, _CRED_SIZE, "payment_cred")
    payment_script = _require_bool(payment_is_script, "payment_is_script")
    stake_script = _require_bool(stake_is_script, "stake_is_script")
    if stake_cred is None:
        kind = 7 if payment_script else 6
        raw = bytes(((kind << 4) | network_id,)) + payment
        stake_raw = None
    else:
        stake = _fixed_bytes(stake_cred, _CRED_SIZE, "stake_cred")
        kind = (2 if stake_script else 0) | (1 if payment_script else 0)
        raw = bytes(((kind << 4) | network_id,)) + payment + stake
        stake_header = (0xF0 if stake_script else 0xE0) | network_id
        stake_raw = bytes((stake_header,)) + stake
    return ParsedAddress(
        text=bech32_encode(_payment_hrp(network_id), raw),
        raw=raw,
        era="shelley",
        network_id=network_id,
        payment_cred=payment,
        payment_is_script=payment_script,
        stake_address_raw=stake_raw,
    )


# ---------------------------------------------------------------------------------------------
# Byron addresses: Base58 of CBOR [tag24(bytes payload), crc32(payload)]
# ---------------------------------------------------------------------------------------------

_CBOR_UINT: Final = 0
_CBOR_BYTES: Final = 2
_CBOR_ARRAY: Final = 4
_CBOR_MAP: Final = 5
_CBOR_TAG: Final = 6
_BYRON_TYPES: Final = (0, 1, 2)  # public key, script, redeem


def _cbor_head(data: bytes, position: int, arg: str) -> tuple[int, int, int]:
    """The (major type, argument, next position) of the CBOR item header at ``position``."""
    if position >= len(data):
        raise _err(arg, "truncated CBOR in a Byron address")
    initial = data[position]
    major, info = initial >> 5, initial & 0x1F
    position += 1
    if info < 24:
        return major, info, position
    if info > 27:
        raise _err(arg, "unsupported CBOR encoding (indefinite length) in a Byron address")
    end = position + (1 << (info - 24))
    if end > len(data):
        raise _err(arg, "truncated CBOR in a Byron address")
    return major, int.from_bytes(data[position:end], "big"), end


def _cbor_expect(data: bytes, position: int, major: int, arg: str, what: str) -> tuple[int, int]:
    """The argument of a CBOR item that must have major type ``major``."""
    found, argument, position = _cbor_head(data, position, arg)
    if found != major:
        raise _err(arg, f"malformed Byron address: expected {what} in the CBOR")
    return argument, position


def _cbor_bytes(data: bytes, position: int, arg: str, what: str) -> tuple[bytes, int]:
    """A CBOR byte string and the position after it."""
    length, position = _cbor_expect(data, position, _CBOR_BYTES, arg, what)
    end = position + length
    if end > len(data):
        raise _err(arg, "truncated CBOR in a Byron address")
    return data[position:end], end


def _cbor_header_bytes(major: int, argument: int) -> bytes:
    """The shortest CBOR header for ``major`` with ``argument``."""
    if argument < 24:
        return bytes(((major << 5) | argument,))
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * width):
            return bytes(((major << 5) | info,)) + argument.to_bytes(width, "big")
    raise AssertionError(argument)  # pragma: no cover - callers pass small values


def _skip_attributes(data: bytes, position: int, arg: str) -> int:
    """Skip a Byron attributes map (uint keys, byte-string values); the position after it."""
    count, position = _cbor_expect(data, position, _CBOR_MAP, arg, "an attributes map")
    for _ in range(count):
        _, position = _cbor_expect(data, position, _CBOR_UINT, arg, "a uint attribute key")
        _, position = _cbor_bytes(data, position, arg, "a byte-string attribute value")
    return position


def _check_byron(raw: bytes, arg: str) -> None:
    """Check the CBOR structure and the CRC32 of a decoded Byron address."""
    length, position = _cbor_expect(raw, 0, _CBOR_ARRAY, arg, "an array")
    if length != 2:
        raise _err(arg, "malformed Byron address: expected a 2-element array")
    tag, position = _cbor_expect(raw, position, _CBOR_TAG, arg, "tag 24")
    if tag != 24:
        raise _err(arg, "malformed Byron address: expected tag 24")
    payload, position = _cbor_bytes(raw, position, arg, "the payload bytes")
    crc, position = _cbor_expect(raw, position, _CBOR_UINT, arg, "a CRC32")
    if position != len(raw):
        raise _err(arg, "trailing bytes after a Byron address")
    if crc != zlib.crc32(payload):
        raise _err(arg, "Byron address CRC32 mismatch (mistyped?)")
    length, position = _cbor_expect(payload, 0, _CBOR_ARRAY, arg, "a payload array")
    if length != 3:
        raise _err(arg, "malformed Byron address: expected a 3-element payload")
    root, position = _cbor_bytes(payload, position, arg, "the root hash")
    if len(root) != _CRED_SIZE:
        raise _err(arg, f"malformed Byron address: root has {len(root)} bytes, expected 28")
    position = _skip_attributes(payload, position, arg)
    kind, position = _cbor_expect(payload, position, _CBOR_UINT, arg, "the address type")
    if kind not in _BYRON_TYPES:
        raise _err(arg, f"unknown Byron address type {kind}")
    if position != len(payload):
        raise _err(arg, "trailing bytes in a Byron address payload")


def _parse_byron(value: str, arg: str) -> ParsedAddress:
    raw = base58_decode(value, arg=arg)
    _check_byron(raw, arg)
    return _byron(value, raw)


def _byron(text: str, raw: bytes) -> ParsedAddress:
    return ParsedAddress(
        text=text,
        raw=raw,
        era="byron",
        network_id=None,
        payment_cred=None,
        payment_is_script=False,
        stake_address_raw=None,
    )


def byron_address(root: bytes, *, attributes: bytes = b"\xa0") -> ParsedAddress:
    """A Byron public-key address from its 28-byte root and raw CBOR attributes map."""
    root_bytes = _fixed_bytes(root, _CRED_SIZE, "root")
    attribute_bytes = _bytes_like(attributes, "attributes")
    if attribute_bytes is None:
        raise _err("attributes", f"expected CBOR bytes, got {_show(attributes)}")
    if _skip_attributes(attribute_bytes, 0, "attributes") != len(attribute_bytes):
        raise _err("attributes", "trailing bytes after the CBOR map")
    payload = (
        b"\x83"
        + _cbor_header_bytes(_CBOR_BYTES, _CRED_SIZE)
        + root_bytes
        + attribute_bytes
        + b"\x00"
    )
    raw = (
        b"\x82\xd8\x18"
        + _cbor_header_bytes(_CBOR_BYTES, len(payload))
        + payload
        + _cbor_header_bytes(_CBOR_UINT, zlib.crc32(payload))
    )
    return _byron(base58_encode(raw), raw)


# ---------------------------------------------------------------------------------------------
# Pool and DRep ids
# ---------------------------------------------------------------------------------------------

_DREP_KEY_HEADER: Final = 0x22
_DREP_SCRIPT_HEADER: Final = 0x23


def _credential_text(value: str, arg: str, what: str) -> bytes | None:
    """56 hex characters as 28 bytes; None when ``value`` looks like bech32 instead."""
    if _is_hex(value):
        if len(value) != 2 * _CRED_SIZE:
            raise _err(arg, f"expected 56 hex characters, got {len(value)}")
        return bytes.fromhex(value)
    if "1" not in value:
        raise _err(arg, f"expected {what} or 56 hex characters, got {_show(value)}")
    return None


def parse_pool_id(value: str | bytes, *, arg: str = "pool_id") -> bytes:
    """A ``pool1…`` id, 56 hex characters or 28 raw bytes, as the 28-byte pool hash."""
    if not isinstance(value, str):
        return _fixed_bytes(value, _CRED_SIZE, arg)
    hex_bytes = _credential_text(value, arg, "a pool1... id")
    if hex_bytes is not None:
        return hex_bytes
    _, data = _bech32_expect(value, arg, ("pool",))
    if len(data) != _CRED_SIZE:
        raise _err(arg, f"a pool id has 28 bytes, got {len(data)}")
    return data


def pool_id_text(hash_raw: bytes) -> str:
    """A 28-byte pool hash as ``pool1…``."""
    return bech32_encode("pool", _fixed_bytes(hash_raw, _CRED_SIZE, "hash_raw"))


def parse_drep_id(value: str | bytes, *, arg: str = "drep_id") -> bytes:
    """A CIP-105/CIP-129 ``drep1…``/``drep_script1…`` id, 56 hex or 28 bytes, as 28 bytes."""
    if not isinstance(value, str):
        return _fixed_bytes(value, _CRED_SIZE, arg)
    hex_bytes = _credential_text(value, arg, "a drep1... id")
    if hex_bytes is not None:
        return hex_bytes
    hrp, data = _bech32_expect(value, arg, ("drep", "drep_script"))
    if len(data) == _CRED_SIZE:
        return data
    if hrp == "drep" and len(data) == 1 + _CRED_SIZE:
        if data[0] not in (_DREP_KEY_HEADER, _DREP_SCRIPT_HEADER):
            raise _err(arg, f"CIP-129 header 0x{data[0]:02x} is not a DRep (0x22 or 0x23)")
        return data[1:]
    raise _err(arg, f"a DRep id has 28 bytes (29 with a CIP-129 header), got {len(data)}")


# ---------------------------------------------------------------------------------------------
# Native assets
# ---------------------------------------------------------------------------------------------

_ASSET_NAME_MAX: Final = 32


@attrs.frozen
class AssetId:
    """A native asset: 28-byte minting policy hash and 0..32-byte asset name."""

    policy: bytes
    name: bytes


def asset_fingerprint(policy: bytes, name: bytes) -> str:
    """The CIP-14 fingerprint ``asset1…``: bech32 of blake2b-160(policy || name)."""
    policy_bytes = _fixed_bytes(policy, _CRED_SIZE, "policy")
    name_bytes = _asset_name_bytes(name, "name")
    digest = hashlib.blake2b(policy_bytes + name_bytes, digest_size=20).digest()
    return bech32_encode("asset", digest)


def _asset_name_bytes(name: object, arg: str) -> bytes:
    raw = _bytes_like(name, arg)
    if raw is None:
        raise _err(arg, f"expected bytes, got {_show(name)}")
    if len(raw) > _ASSET_NAME_MAX:
        raise _err(arg, f"an asset name has at most 32 bytes, got {len(raw)}")
    return raw


def parse_asset_id(value: str, *, arg: str = "asset") -> AssetId:
    """``policyhex`` + ``namehex``, optionally dot-separated, as an :class:`AssetId`."""
    value = _require_str(value, arg, "an asset id")
    if value[:6].lower() == "asset1":
        raise _err(
            arg, "a fingerprint cannot be resolved without the database; use parse_fingerprint"
        )
    policy_hex, dot, name_hex = value.partition(".")
    if not dot:
        policy_hex, name_hex = value[: 2 * _CRED_SIZE], value[2 * _CRED_SIZE :]
    if len(policy_hex) != 2 * _CRED_SIZE or not _is_hex(policy_hex):
        raise _err(arg, f"expected a 56-hex-character policy id first, got {_show(value)}")
    if len(name_hex) > 2 * _ASSET_NAME_MAX:
        raise _err(arg, f"an asset name has at most 64 hex characters, got {len(name_hex)}")
    if len(name_hex) % 2 or not _is_hex(name_hex):
        raise _err(arg, f"expected an even number of hex characters for the name: {_show(value)}")
    return AssetId(policy=bytes.fromhex(policy_hex), name=bytes.fromhex(name_hex))


def parse_fingerprint(value: str, *, arg: str = "fingerprint") -> str:
    """A CIP-14 ``asset1…`` fingerprint, checked and lowercased."""
    _, data = _bech32_expect(value, arg, ("asset",))
    if len(data) != 20:
        raise _err(arg, f"a fingerprint has 20 bytes, got {len(data)}")
    return value.lower()


# ---------------------------------------------------------------------------------------------
# Query-layer helpers
# ---------------------------------------------------------------------------------------------

_INT64_LIMIT: Final = 2**63


def parse_limit(value: int, *, arg: str = "limit", maximum: int = 10_000) -> int:
    """A row limit: an int (not bool) in ``1..maximum``."""
    number = _require_int(value, arg)
    if not 1 <= number <= maximum:
        raise _err(arg, f"expected 1..{_show_int(maximum)}, got {_show_int(number)}")
    return number


def parse_non_negative(value: int, *, arg: str) -> int:
    """An int (not bool) that fits a non-negative PostgreSQL bigint."""
    number = _require_int(value, arg)
    if not 0 <= number < _INT64_LIMIT:
        raise _err(arg, f"expected 0..{_INT64_LIMIT - 1}, got {_show_int(number)}")
    return number
