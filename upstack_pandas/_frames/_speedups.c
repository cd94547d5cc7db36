/* Compiled decoding of data-point arrays (module upstack_pandas._frames._cdecode).
 *
 * One function, decode_array(body, pos, float_keys, coded_keys, time_keys): parse the JSON array
 * of flat data points that starts at body[pos] (a '['), straight to columns:
 *   - a float64 matrix (row-major, one column per float key): numbers, NaN for null or missing;
 *   - per coded key, intp codes into a list of uniques in first-appearance order (strings,
 *     integers, None for null or missing);
 *   - per time key, int64 microseconds since the epoch, UTC (NaT for null or missing), from the
 *     API's fixed ISO 8601 form YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM).
 * It returns (end, n, values, codes, uniques, times) with end the offset after the ']', or None
 * when it is unsure: anything outside that model (a row that is not an object, a duplicate key,
 * a string or boolean where a number belongs, a float or huge integer label, a timestamp in
 * any other form, a lone surrogate,
 * invalid UTF-8, a number orjson would reject as infinite, invalid JSON, nesting deeper than
 * MAX_DEPTH...). The caller then decodes the body with the pure-Python path, which gives the
 * result (or the error) of record, so this module never has to be right about the odd cases,
 * only to recognise them.
 *
 * It spells no field name: every key comes from the caller (upstack_pandas._wire and the
 * reader's RowSpec).
 *
 * Speed (issue 13: within 1.5x of simdjson's parse of the same body): no Python object per cell
 * (one per distinct label only); keys matched as raw bytes against the key seen at the same
 * position in the previous rows; strings scanned 16 bytes a step (SSE2; 8 with SWAR elsewhere),
 * escapes decoded only when present; numbers by Clinger's exact fast path, Python's correctly
 * rounded conversion for the rest (bit-identical to orjson either way); labels interned in an
 * open-addressing table over their bytes; timestamps parsed in place; outputs written into
 * arrays reserved from the first row's size (doubling past it). The body must be a bytes
 * object: its trailing NUL ends every scanning loop without a bounds check.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define HAVE_SSE2 1
#endif

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

#define MAX_KEYS 64
#define MAX_DEPTH 64
#define TAG_STR 1
#define TAG_INT 2

typedef struct {
    const char *p;
    const char *end;
    char *scratch; /* decoded string (escapes resolved), grown on demand */
    Py_ssize_t scratch_cap;
    int nomem;
} Parser;

/* ------------------------------------------------------------------ growable output buffers */

typedef struct {
    PyObject *array; /* bytearray */
    char *data;      /* its buffer (moves when it grows) */
    Py_ssize_t used, cap; /* bytes */
} Out;

static int out_init(Out *o, Py_ssize_t cap) {
    o->array = PyByteArray_FromStringAndSize(NULL, cap);
    o->used = 0;
    o->cap = cap;
    o->data = o->array ? PyByteArray_AS_STRING(o->array) : NULL;
    return o->array ? 0 : -1;
}

static int out_grow(Out *o, Py_ssize_t extra) {
    Py_ssize_t want = o->cap * 2;
    if (want < o->used + extra) want = o->used + extra;
    if (PyByteArray_Resize(o->array, want) < 0) return -1;
    o->data = PyByteArray_AS_STRING(o->array);
    o->cap = want;
    return 0;
}

/* Room for extra more bytes (doubling): 0, or -1 on a Python error. */
static inline int out_reserve(Out *o, Py_ssize_t extra) {
    return o->used + extra <= o->cap ? 0 : out_grow(o, extra);
}

static int out_finish(Out *o) { return PyByteArray_Resize(o->array, o->used); }

/* ---------------------------------------------------------------------------- small helpers */

/* a[0:n] == b[0:n] for the short texts compared here (keys, labels), without a libc call */
static inline int same_bytes(const char *a, const char *b, Py_ssize_t n) {
    uint64_t x, y;
    while (n >= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
        a += 8;
        b += 8;
        n -= 8;
    }
    if (n >= 4) {
        uint32_t u, v, s, t;
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        memcpy(&s, a + n - 4, 4);
        memcpy(&t, b + n - 4, 4);
        return u == v && s == t;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static inline int is_digit(char c) { return (unsigned char)(c - '0') < 10; }

/* ------------------------------------------------------------------------- label coders */

typedef struct {
    uint64_t hash;
    Py_ssize_t offset; /* into arena; -1 = empty slot */
    Py_ssize_t len;
    Py_ssize_t code;
    int tag;
} Entry;

typedef struct {
    Entry *slots;
    Py_ssize_t mask; /* capacity - 1 */
    Py_ssize_t count;
    char *arena;
    Py_ssize_t arena_used, arena_cap;
    Py_ssize_t null_code; /* -1 until a null (or missing) value is seen */
    Entry *last;          /* the previous row's entry: rows often repeat a label (the bucket) */
    /* the last escape-free string label as sent (a span of the body: no quote, backslash or
     * control inside) and its code: the next row's value is compared with it before it is even
     * scanned */
    const char *raw;
    Py_ssize_t raw_len, raw_code;
    PyObject *uniques;    /* list */
    Out codes;
} Coder;

static int coder_init(Coder *c) {
    memset(c, 0, sizeof(*c));
    c->null_code = -1;
    c->mask = 63;
    c->slots = PyMem_Malloc(sizeof(Entry) * 64);
    c->arena_cap = 4096;
    c->arena = PyMem_Malloc(c->arena_cap);
    c->uniques = PyList_New(0);
    if (!c->slots || !c->arena || !c->uniques) return -1;
    for (Py_ssize_t i = 0; i < 64; i++) c->slots[i].offset = -1;
    return out_init(&c->codes, 8 * 1024);
}

static void coder_free(Coder *c) {
    PyMem_Free(c->slots);
    PyMem_Free(c->arena);
    Py_XDECREF(c->uniques);
    Py_XDECREF(c->codes.array);
}

static inline uint64_t hash_bytes(const char *s, Py_ssize_t n, int tag) {
    const uint64_t mul = 0x9E3779B97F4A7C15ULL;
    uint64_t h = ((uint64_t)n << 8 | (uint64_t)tag) * mul, w;
    while (n >= 8) { /* eight bytes a step */
        memcpy(&w, s, 8);
        h = (h ^ w) * mul;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, s, (size_t)n);
    h = (h ^ w) * mul;
    /* murmur3's finaliser: the table index takes the low bits */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static int coder_grow(Coder *c) {
    Py_ssize_t cap = (c->mask + 1) * 2;
    Entry *slots = PyMem_Malloc(sizeof(Entry) * cap);
    if (!slots) return -1;
    for (Py_ssize_t i = 0; i < cap; i++) slots[i].offset = -1;
    for (Py_ssize_t i = 0; i <= c->mask; i++) {
        Entry *e = &c->slots[i];
        if (e->offset < 0) continue;
        Py_ssize_t j = (Py_ssize_t)(e->hash & (uint64_t)(cap - 1));
        while (slots[j].offset >= 0) j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    PyMem_Free(c->slots);
    c->slots = slots;
    c->mask = cap - 1;
    return 0;
}

static inline int coder_push(Coder *c, Py_ssize_t code) {
    Out *o = &c->codes;
    if (out_reserve(o, sizeof(Py_ssize_t)) < 0) return -1;
    memcpy(o->data + o->used, &code, sizeof(Py_ssize_t));
    o->used += sizeof(Py_ssize_t);
    return 0;
}

static int coder_null(Coder *c) {
    if (c->null_code < 0) {
        c->null_code = PyList_GET_SIZE(c->uniques);
        if (PyList_Append(c->uniques, Py_None) < 0) return -1;
    }
    return coder_push(c, c->null_code);
}

/* Code of the value s[0:n] (decoded UTF-8 text for TAG_STR, JSON integer text for TAG_INT).
 * Returns 0, -1 on a Python error, 1 when unsure (invalid UTF-8: let the pure path decide). */
static int coder_add(Coder *c, const char *s, Py_ssize_t n, int tag) {
    Entry *last = c->last;
    if (last && last->len == n && last->tag == tag && same_bytes(c->arena + last->offset, s, n))
        return coder_push(c, last->code);
    uint64_t h = hash_bytes(s, n, tag);
    Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)c->mask);
    for (;;) {
        Entry *e = &c->slots[j];
        if (e->offset < 0) break;
        if (e->hash == h && e->len == n && e->tag == tag &&
            same_bytes(c->arena + e->offset, s, n)) {
            c->last = e;
            return coder_push(c, e->code);
        }
        j = (j + 1) & c->mask;
    }
    PyObject *obj;
    if (tag == TAG_STR) {
        obj = PyUnicode_DecodeUTF8(s, n, NULL);
        if (!obj) {
            PyErr_Clear();
            return 1;
        }
    } else {
        char digits[32];
        memcpy(digits, s, n);
        digits[n] = 0;
        obj = PyLong_FromString(digits, NULL, 10);
        if (!obj) return -1;
    }
    Py_ssize_t code = PyList_GET_SIZE(c->uniques);
    int rc = PyList_Append(c->uniques, obj);
    Py_DECREF(obj);
    if (rc < 0) return -1;
    if (c->arena_used + n > c->arena_cap) {
        Py_ssize_t cap = c->arena_cap * 2;
        while (cap < c->arena_used + n) cap *= 2;
        char *arena = PyMem_Realloc(c->arena, cap);
        if (!arena) return -1;
        c->arena = arena;
        c->arena_cap = cap;
    }
    memcpy(c->arena + c->arena_used, s, n);
    Entry *e = &c->slots[j];
    e->hash = h;
    e->offset = c->arena_used;
    e->len = n;
    e->code = code;
    e->tag = tag;
    c->arena_used += n;
    c->count++;
    c->last = e;
    if (c->count * 2 > c->mask) {
        c->last = NULL; /* the table moves when it grows */
        if (coder_grow(c) < 0) return -1;
    }
    return coder_push(c, code);
}

/* ------------------------------------------------------------------------------ scanning */

/* The body is a bytes object, so body[len] is a NUL: no scanning loop below runs past the end
 * (a NUL is neither whitespace, a digit nor any byte JSON expects there). */
static inline void skip_ws(Parser *ps) {
    const char *p = ps->p;
    if ((unsigned char)*p > ' ') return; /* compact JSON: no whitespace at all */
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    ps->p = p;
}

/* Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF), as orjson requires. */
static int valid_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        Py_ssize_t len;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n) return 0;
        for (Py_ssize_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static int scratch_reserve(Parser *ps, Py_ssize_t n) {
    if (n <= ps->scratch_cap) return 0;
    Py_ssize_t cap = ps->scratch_cap ? ps->scratch_cap : 256;
    while (cap < n) cap *= 2;
    char *s = PyMem_Realloc(ps->scratch, cap);
    if (!s) {
        ps->nomem = 1;
        return -1;
    }
    ps->scratch = s;
    ps->scratch_cap = cap;
    return 0;
}

static inline int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(const char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        v = (v << 4) | (uint32_t)h;
    }
    *out = v;
    return 0;
}

/* Parse the string whose opening quote is at ps->p. On success (*s, *n) is its decoded UTF-8
 * text: a span of the body when it has no escapes, else the scratch buffer. Returns 0, or -1
 * when unsure (invalid string, lone surrogate, invalid UTF-8, out of memory). */
static int parse_string(Parser *ps, const char **s, Py_ssize_t *n) {
    const char *p = ps->p + 1, *end = ps->end, *start = p;
    int high = 0;
    /* 16 (or 8) bytes at a time while none is a quote, a backslash, a control or non-ASCII */
#ifdef HAVE_SSE2
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        /* signed < 0x20: the controls and every byte >= 0x80 */
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                   _mm_cmplt_epi8(v, space));
        int mask = _mm_movemask_epi8(hit);
        if (mask) {
            p += __builtin_ctz((unsigned)mask);
            if (*p == '"') goto closed;
            break;
        }
        p += 16;
    }
#else
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t special = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w;
        if (special & highs) break;
        p += 8;
    }
#endif
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (c == '\\') goto escaped;
        if (c < 0x20) return -1;
        high |= c & 0x80;
        p++;
    }
    if (p >= end) return -1;
    if (high && !valid_utf8((const unsigned char *)start, p - start)) return -1;
#ifdef HAVE_SSE2
closed:
#endif
    *s = start;
    *n = p - start;
    ps->p = p + 1;
    return 0;

escaped:;
    /* the escaped text is never longer decoded than raw (\uXXXX: 6 bytes -> at most 3; a pair:
     * 12 -> 4), so the raw length up to the closing quote bounds the scratch size */
    const char *q = p;
    while (q < end && *q != '"') q += (*q == '\\') ? 2 : 1;
    if (q >= end) return -1;
    if (scratch_reserve(ps, q - start + 4) < 0) return -1;
    char *w = ps->scratch;
    memcpy(w, start, p - start);
    w += p - start;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (c < 0x20) return -1;
        if (c != '\\') {
            high |= c & 0x80;
            *w++ = (char)c;
            p++;
            continue;
        }
        if (p + 1 >= end) return -1;
        char e = p[1];
        p += 2;
        switch (e) {
            case '"': *w++ = '"'; break;
            case '\\': *w++ = '\\'; break;
            case '/': *w++ = '/'; break;
            case 'b': *w++ = '\b'; break;
            case 'f': *w++ = '\f'; break;
            case 'n': *w++ = '\n'; break;
            case 'r': *w++ = '\r'; break;
            case 't': *w++ = '\t'; break;
            case 'u': {
                uint32_t cp;
                if (p + 4 > end || read_hex4(p, &cp) < 0) return -1;
                p += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* lone low surrogate */
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (p + 6 > end || p[0] != '\\' || p[1] != 'u' || read_hex4(p + 2, &lo) < 0 ||
                        lo < 0xDC00 || lo > 0xDFFF)
                        return -1; /* lone high surrogate */
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                if (cp < 0x80) {
                    *w++ = (char)cp;
                } else if (cp < 0x800) {
                    *w++ = (char)(0xC0 | (cp >> 6));
                    *w++ = (char)(0x80 | (cp & 0x3F));
                } else if (cp < 0x10000) {
                    *w++ = (char)(0xE0 | (cp >> 12));
                    *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                    *w++ = (char)(0x80 | (cp & 0x3F));
                } else {
                    *w++ = (char)(0xF0 | (cp >> 18));
                    *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                    *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                    *w++ = (char)(0x80 | (cp & 0x3F));
                }
                break;
            }
            default: return -1;
        }
    }
    if (p >= end) return -1;
    /* raw non-ASCII bytes were copied as is: validate them (escapes produced valid UTF-8) */
    if (high && !valid_utf8((const unsigned char *)ps->scratch, w - ps->scratch)) return -1;
    *s = ps->scratch;
    *n = w - ps->scratch;
    ps->p = p + 1;
    return 0;
}

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parse the JSON number at ps->p to the double orjson's value converts to (an integer without
 * fraction or exponent is an int to orjson: "-0" is 0.0, integers beyond 64 bits a float).
 * Sets is_int for the integer labels. Returns 0, or -1 when not a valid number or
 * when orjson would reject it (infinite). */
/* The text start[0:len] (a JSON number) to a double by Python's correctly rounded conversion;
 * 0, or -1 when orjson would reject it (infinite) or out of memory (ps->nomem). */
static NOINLINE int parse_number_text(Parser *ps, const char *start, Py_ssize_t len,
                                          double *out) {
    char local[128];
    char *text = local;
    if (len >= (Py_ssize_t)sizeof(local)) {
        text = PyMem_Malloc(len + 1);
        if (!text) {
            ps->nomem = 1;
            return -1;
        }
    }
    memcpy(text, start, len);
    text[len] = 0;
    char *stop = NULL;
    double v = PyOS_string_to_double(text, &stop, NULL);
    int ok = !(v == -1.0 && PyErr_Occurred()) && stop == text + len;
    if (text != local) PyMem_Free(text);
    if (!ok) {
        PyErr_Clear();
        return -1;
    }
    if (isinf(v)) return -1; /* orjson: "number is infinity when parsed as double" */
    *out = v;
    return 0;
}

/* mant * 10**count + digits[0:count], the digits' value appended to mant */
static inline uint64_t append_digits(uint64_t mant, const char *digits, Py_ssize_t count) {
    for (Py_ssize_t k = 0; k < count; k++) mant = mant * 10 + (uint64_t)(digits[k] - '0');
    return mant;
}

/* Parse the JSON number at ps->p to the double orjson's value converts to (an integer without
 * fraction or exponent is an int to orjson: "-0" is 0.0, integers beyond 64 bits a float).
 * Sets is_int for the integer labels. Returns 0, or -1 when not a valid number or when orjson
 * would reject it (infinite).
 *
 * Exact fast path (Clinger): at most 19 significant digits with a mantissa <= 2**53 and a power
 * of ten within 10**22 are both exact doubles, so one IEEE multiplication or division rounds
 * the value correctly; anything else goes to Python's correctly rounded conversion. */
static inline int parse_number(Parser *ps, double *out, int *is_int) {
    const char *p = ps->p, *start = p;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    uint64_t mant = 0;
    Py_ssize_t digits = 0;  /* significant digits accumulated into mant (at most 19) */
    Py_ssize_t dropped = 0; /* significant digits that did not fit (value still exact if 0) */
    Py_ssize_t exp10 = 0;
    if (*p == '0') {
        p++;
    } else if (is_digit(*p)) {
        const char *first = p;
        while (is_digit(*p)) { /* wraps past 19 digits: then recomputed below */
            mant = mant * 10 + (uint64_t)(*p - '0');
            p++;
        }
        digits = p - first;
        if (digits > 19) {
            mant = append_digits(0, first, 19);
            dropped = digits - 19;
            exp10 = dropped;
            digits = 19;
        }
    } else {
        return -1;
    }
    int integer = 1;
    if (*p == '.') {
        integer = 0;
        p++;
        if (!is_digit(*p)) return -1;
        if (digits == 0) { /* 0.000ddd: the fraction's leading zeros only scale */
            const char *zeros = p;
            while (*p == '0') p++;
            exp10 -= p - zeros;
        }
        const char *first = p;
        uint64_t m = mant;
        while (is_digit(*p)) {
            m = m * 10 + (uint64_t)(*p - '0');
            p++;
        }
        Py_ssize_t count = p - first;
        if (digits + count <= 19) {
            mant = m;
            digits += count;
            exp10 -= count;
        } else {
            Py_ssize_t take = 19 - digits;
            mant = append_digits(mant, first, take);
            digits = 19;
            exp10 -= take;
            dropped += count - take;
        }
    }
    if (*p == 'e' || *p == 'E') {
        integer = 0;
        p++;
        int eneg = 0;
        if (*p == '+' || *p == '-') {
            eneg = *p == '-';
            p++;
        }
        if (!is_digit(*p)) return -1;
        Py_ssize_t e = 0;
        while (is_digit(*p)) {
            if (e < 100000) e = e * 10 + (*p - '0');
            p++;
        }
        exp10 += eneg ? -e : e;
    }
    ps->p = p;
    *is_int = integer;
    if (integer && dropped == 0) {
        /* an int for orjson: i64 / u64 range */
        if (!neg) {
            *out = (double)mant;
            return 0;
        }
        if (mant <= 9223372036854775808ULL) {
            *out = mant ? -(double)mant : 0.0;
            return 0;
        }
    }
    if (dropped == 0 && mant <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)mant;
        v = exp10 < 0 ? v / POW10[-exp10] : v * POW10[exp10];
        *out = neg ? -v : v;
        return 0;
    }
    return parse_number_text(ps, start, p - start, out);
}

static inline int match_literal(Parser *ps, const char *lit, Py_ssize_t n) {
    if (ps->end - ps->p < n || memcmp(ps->p, lit, n) != 0) return -1;
    ps->p += n;
    return 0;
}

/* Validate and skip any JSON value (an unused field). */
static int skip_value(Parser *ps, int depth) {
    if (ps->p >= ps->end) return -1;
    char c = *ps->p;
    if (c == '"') {
        const char *s;
        Py_ssize_t n;
        return parse_string(ps, &s, &n);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        double v;
        int is_int;
        return parse_number(ps, &v, &is_int);
    }
    if (c == 't') return match_literal(ps, "true", 4);
    if (c == 'f') return match_literal(ps, "false", 5);
    if (c == 'n') return match_literal(ps, "null", 4);
    if (depth >= MAX_DEPTH) return -1;
    if (c == '[') {
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        for (;;) {
            if (skip_value(ps, depth + 1) < 0) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end) return -1;
            if (*ps->p == ']') {
                ps->p++;
                return 0;
            }
            if (*ps->p != ',') return -1;
            ps->p++;
            skip_ws(ps);
        }
    }
    if (c == '{') {
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return 0;
        }
        for (;;) {
            const char *s;
            Py_ssize_t n;
            if (ps->p >= ps->end || *ps->p != '"' || parse_string(ps, &s, &n) < 0) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return -1;
            ps->p++;
            skip_ws(ps);
            if (skip_value(ps, depth + 1) < 0) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end) return -1;
            if (*ps->p == '}') {
                ps->p++;
                return 0;
            }
            if (*ps->p != ',') return -1;
            ps->p++;
            skip_ws(ps);
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------------ timestamps */

static inline int digits2(const char *s) {
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

static int64_t days_from_civil(int64_t y, int m, int d) { /* H. Hinnant's algorithm */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Microseconds UTC of s[0:n]; -1 when not the fixed form, or outside what every pandas version
 * parses alike (years 1900-2200): the caller then hands the body to the pure path. */
static int parse_time(const char *s, Py_ssize_t n, int64_t *out) {
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -1;
    int c = digits2(s), y2 = digits2(s + 2), mo = digits2(s + 5), d = digits2(s + 8);
    int h = digits2(s + 11), mi = digits2(s + 14), se = digits2(s + 17);
    if (c < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 59)
        return -1;
    int year = c * 100 + y2;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1900 || year > 2200 || d > mdays[mo - 1] + (mo == 2 && leap)) return -1;
    Py_ssize_t i = 19;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        int k = 0;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (++k > 6) return -1;
            frac = frac * 10 + (s[i] - '0');
            i++;
        }
        if (k == 0) return -1;
        for (; k < 6; k++) frac *= 10;
    }
    int64_t offset = 0;
    if (i + 1 == n && s[i] == 'Z') {
        offset = 0;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = digits2(s + i + 1), om = digits2(s + i + 4);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return -1;
        offset = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    } else {
        return -1;
    }
    int64_t seconds = days_from_civil(year, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    *out = seconds * 1000000 + frac;
    return 0;
}

/* ------------------------------------------------------------------------- the one entry */

typedef struct {
    const char *name;
    Py_ssize_t len;
} Key;

#define MAX_FIELDS 64

typedef struct {
    const char *text; /* the key as sent, quotes included (a span of the body) */
    Py_ssize_t len;
    Py_ssize_t slot; /* index into the caller's keys, -1 for a field no column takes */
} Field;

static PyObject *decode_array(PyObject *self, PyObject *args) {
    Py_buffer body;
    Py_ssize_t pos;
    PyObject *float_keys, *coded_keys, *time_keys;
    if (!PyArg_ParseTuple(args, "y*nO!O!O!:decode_array", &body, &pos, &PyTuple_Type, &float_keys,
                          &PyTuple_Type, &coded_keys, &PyTuple_Type, &time_keys))
        return NULL;
    Py_ssize_t nf = PyTuple_GET_SIZE(float_keys), nc = PyTuple_GET_SIZE(coded_keys);
    Py_ssize_t nt = PyTuple_GET_SIZE(time_keys);
    Py_ssize_t nk = nf + nc + nt;
    PyObject *result = NULL;
    Parser ps = {0};
    Key keys[MAX_KEYS];
    Coder coders[MAX_KEYS];
    Py_ssize_t ready = 0; /* coders initialised */
    Out values = {0};
    Out times[MAX_KEYS];
    Py_ssize_t times_ready = 0;
    int64_t stamps[MAX_KEYS];
    double row[MAX_KEYS];
    if (nk > MAX_KEYS || pos < 0 || pos >= body.len || !PyBytes_Check(body.obj)) {
        /* only a bytes object ends in the NUL the scanning relies on */
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    for (Py_ssize_t k = 0; k < nk; k++) {
        PyObject *key = k < nf        ? PyTuple_GET_ITEM(float_keys, k)
                        : k < nf + nc ? PyTuple_GET_ITEM(coded_keys, k - nf)
                                      : PyTuple_GET_ITEM(time_keys, k - nf - nc);
        if (!PyBytes_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "decode_array: keys must be bytes");
            goto done;
        }
        keys[k].name = PyBytes_AS_STRING(key);
        keys[k].len = PyBytes_GET_SIZE(key);
    }
    for (; ready < nc; ready++)
        if (coder_init(&coders[ready]) < 0) {
            ready++;
            PyErr_NoMemory();
            goto done;
        }
    if (out_init(&values, nf ? 64 * 1024 : 0) < 0) goto done;
    for (; times_ready < nt; times_ready++)
        if (out_init(&times[times_ready], 8 * 1024) < 0) goto done;

    ps.p = (const char *)body.buf + pos;
    ps.end = (const char *)body.buf + body.len;
    Py_ssize_t n = 0;
    int unsure = 0;
    const uint64_t all_seen = nk == 64 ? ~0ULL : (1ULL << nk) - 1;
    /* The keys of the previous rows, by field position: data points usually repeat one layout,
     * so a field's key is matched as raw bytes ("key" with its quotes) against the key seen at
     * that position, without decoding it or searching the keys. Only escape-free keys enter. */
    Field layout[MAX_FIELDS];
    Py_ssize_t layout_n = 0;
    if (*ps.p != '[') goto unsure;
    ps.p++;
    skip_ws(&ps);
    if (*ps.p == ']') {
        ps.p++;
        goto finish;
    }
    for (;;) { /* one data point */
        const char *row_start = ps.p;
        if (*ps.p != '{') goto unsure;
        ps.p++;
        uint64_t seen = 0;
        skip_ws(&ps);
        if (*ps.p == '}') {
            ps.p++;
        } else {
            for (Py_ssize_t fi = 0;; fi++) { /* one field */
                const char *s;
                Py_ssize_t len, slot = -1;
                if (fi < layout_n && ps.end - ps.p > layout[fi].len &&
                    same_bytes(ps.p, layout[fi].text, layout[fi].len)) {
                    ps.p += layout[fi].len;
                    slot = layout[fi].slot;
                } else {
                    const char *key_start = ps.p;
                    if (*ps.p != '"' || parse_string(&ps, &s, &len) < 0) goto unsure;
                    for (Py_ssize_t k = 0; k < nk; k++)
                        if (keys[k].len == len && memcmp(keys[k].name, s, len) == 0) {
                            slot = k;
                            break;
                        }
                    /* learnt when escape-free (s is then the body's), and only next to known
                     * positions, so every entry below layout_n is set */
                    if (fi <= layout_n && fi < MAX_FIELDS && s == key_start + 1) {
                        layout[fi].text = key_start;
                        layout[fi].len = ps.p - key_start;
                        layout[fi].slot = slot;
                        if (fi == layout_n) layout_n++;
                    }
                }
                skip_ws(&ps);
                if (*ps.p != ':') goto unsure;
                ps.p++;
                skip_ws(&ps);
                if (slot < 0) {
                    if (skip_value(&ps, 1) < 0) goto unsure;
                } else {
                    uint64_t bit = 1ULL << slot;
                    if (seen & bit) goto unsure; /* duplicate key: orjson keeps the last */
                    seen |= bit;
                    char c = *ps.p;
                    if (slot < nf) {
                        if (c == 'n') {
                            if (match_literal(&ps, "null", 4) < 0) goto unsure;
                            row[slot] = Py_NAN;
                        } else if (c == '-' || is_digit(c)) {
                            int is_int;
                            if (parse_number(&ps, &row[slot], &is_int) < 0) goto unsure;
                        } else {
                            goto unsure; /* strings, booleans, nested values: the pure path */
                        }
                    } else if (slot >= nf + nc) {
                        int64_t *stamp = &stamps[slot - nf - nc];
                        if (c == 'n') {
                            if (match_literal(&ps, "null", 4) < 0) goto unsure;
                            *stamp = INT64_MIN; /* NaT */
                        } else if (c == '"') {
                            if (parse_string(&ps, &s, &len) < 0 || parse_time(s, len, stamp) < 0)
                                goto unsure;
                        } else {
                            goto unsure;
                        }
                    } else {
                        Coder *cd = &coders[slot - nf];
                        int rc;
                        if (c == '"') {
                            Py_ssize_t rl = cd->raw_len;
                            if (cd->raw && ps.end - ps.p > rl + 1 && ps.p[rl + 1] == '"' &&
                                same_bytes(ps.p + 1, cd->raw, rl)) {
                                ps.p += rl + 2; /* the same label as the last plain one */
                                rc = coder_push(cd, cd->raw_code);
                            } else {
                                const char *q = ps.p;
                                if (parse_string(&ps, &s, &len) < 0) goto unsure;
                                rc = coder_add(cd, s, len, TAG_STR);
                                if (rc == 0 && s == q + 1) {
                                    cd->raw = s;
                                    cd->raw_len = len;
                                    memcpy(&cd->raw_code,
                                           cd->codes.data + cd->codes.used - sizeof(Py_ssize_t),
                                           sizeof(Py_ssize_t));
                                }
                            }
                        } else if (c == 'n') {
                            if (match_literal(&ps, "null", 4) < 0) goto unsure;
                            rc = coder_null(cd);
                        } else if (c == '-' || is_digit(c)) {
                            const char *numstart = ps.p;
                            double v;
                            int is_int;
                            if (parse_number(&ps, &v, &is_int) < 0) goto unsure;
                            Py_ssize_t nlen = ps.p - numstart;
                            /* integers up to 18 digits only, and never "-0" (equal to 0) */
                            if (!is_int || nlen > 18 ||
                                (nlen == 2 && numstart[0] == '-' && numstart[1] == '0'))
                                goto unsure;
                            rc = coder_add(cd, numstart, nlen, TAG_INT);
                        } else {
                            goto unsure;
                        }
                        if (rc < 0) goto done;
                        if (rc > 0) goto unsure;
                    }
                }
                skip_ws(&ps);
                if (*ps.p == ',') {
                    ps.p++;
                    skip_ws(&ps);
                    continue;
                }
                if (*ps.p != '}') goto unsure;
                ps.p++;
                break;
            }
        }
        if (seen != all_seen) { /* missing keys: NaN / null / NaT */
            for (Py_ssize_t k = 0; k < nf; k++)
                if (!(seen >> k & 1)) row[k] = Py_NAN;
            for (Py_ssize_t k = nf; k < nf + nc; k++)
                if (!(seen >> k & 1) && coder_null(&coders[k - nf]) < 0) goto done;
            for (Py_ssize_t k = 0; k < nt; k++)
                if (!(seen >> (nf + nc + k) & 1)) stamps[k] = INT64_MIN;
        }
        if (n == 0) { /* room for as many rows as the rest of the body holds rows like this one */
            Py_ssize_t rest = ps.end - ps.p, per_row = (nf + nc + nt) * 8 + 1;
            Py_ssize_t guess = rest / (ps.p - row_start + 1) + 16;
            if (guess > rest / per_row) guess = rest / per_row; /* at most the body's size */
            if (out_reserve(&values, guess * nf * (Py_ssize_t)sizeof(double)) < 0) goto done;
            for (Py_ssize_t k = 0; k < nt; k++)
                if (out_reserve(&times[k], guess * (Py_ssize_t)sizeof(int64_t)) < 0) goto done;
            for (Py_ssize_t k = 0; k < nc; k++)
                if (out_reserve(&coders[k].codes, guess * (Py_ssize_t)sizeof(Py_ssize_t)) < 0)
                    goto done;
        }
        for (Py_ssize_t k = 0; k < nt; k++) {
            Out *o = &times[k];
            if (out_reserve(o, sizeof(int64_t)) < 0) goto done;
            memcpy(o->data + o->used, &stamps[k], sizeof(int64_t));
            o->used += sizeof(int64_t);
        }
        if (nf) {
            if (out_reserve(&values, nf * (Py_ssize_t)sizeof(double)) < 0) goto done;
            memcpy(values.data + values.used, row, nf * sizeof(double));
            values.used += nf * sizeof(double);
        }
        n++;
        skip_ws(&ps);
        if (*ps.p == ',') {
            ps.p++;
            skip_ws(&ps);
            continue;
        }
        if (*ps.p != ']') goto unsure;
        ps.p++;
        break;
    }
    goto finish;
unsure:
    unsure = 1;
finish:
    if (ps.nomem) {
        PyErr_NoMemory();
        goto done;
    }
    if (unsure) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    {
        if (out_finish(&values) < 0) goto done;
        PyObject *codes = PyList_New(nc), *uniques = PyList_New(nc), *stamps_out = PyList_New(nt);
        if (!codes || !uniques || !stamps_out) {
            Py_XDECREF(codes);
            Py_XDECREF(uniques);
            Py_XDECREF(stamps_out);
            goto done;
        }
        for (Py_ssize_t k = 0; k < nt; k++) {
            if (out_finish(&times[k]) < 0) {
                Py_DECREF(codes);
                Py_DECREF(uniques);
                Py_DECREF(stamps_out);
                goto done;
            }
            Py_INCREF(times[k].array);
            PyList_SET_ITEM(stamps_out, k, times[k].array);
        }
        for (Py_ssize_t k = 0; k < nc; k++) {
            if (out_finish(&coders[k].codes) < 0) {
                Py_DECREF(codes);
                Py_DECREF(uniques);
                Py_DECREF(stamps_out);
                goto done;
            }
            Py_INCREF(coders[k].codes.array);
            PyList_SET_ITEM(codes, k, coders[k].codes.array);
            Py_INCREF(coders[k].uniques);
            PyList_SET_ITEM(uniques, k, coders[k].uniques);
        }
        Py_ssize_t end = ps.p - (const char *)body.buf;
        result = Py_BuildValue("(nnONNN)", end, n, values.array, codes, uniques, stamps_out);
    }
done:
    for (Py_ssize_t k = 0; k < ready; k++) coder_free(&coders[k]);
    for (Py_ssize_t k = 0; k < times_ready; k++) Py_XDECREF(times[k].array);
    Py_XDECREF(values.array);
    PyMem_Free(ps.scratch);
    PyBuffer_Release(&body);
    return result;
}

static PyMethodDef methods[] = {
    {"decode_array", decode_array, METH_VARARGS,
     "decode_array(body, pos, float_keys, coded_keys, time_keys)"
     " -> (end, n, values, codes, uniques, times) | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cdecode",
    "Compiled decoding of data-point arrays (see upstack_pandas._frames.decode).", -1, methods,
};

PyMODINIT_FUNC PyInit__cdecode(void) { return PyModule_Create(&module); }
