# The compiled decoder (upstack_pandas/_frames/_speedups.c), built when a compiler is present.
# body must be a bytes object (its trailing NUL ends the scanning); anything else returns None.

def decode_array(
    body: bytes,
    pos: int,
    float_keys: tuple[bytes, ...],
    coded_keys: tuple[bytes, ...],
    time_keys: tuple[bytes, ...],
    /,
) -> tuple[int, int, bytearray, list[bytearray], list[list[object]], list[bytearray]] | None: ...
