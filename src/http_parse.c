/*
 * http_parse.c: an HTTP/1.1 response parser (http_parse.h). Strict where
 * leniency lets one response be read two ways (a folded header, a bare CR,
 * two different Content-Lengths, an unknown Transfer-Encoding: refused, as
 * RFC 9112 allows a client to), lenient where it cannot (a bare LF ends a
 * line, a reason phrase may be empty). Every length is checked before it is
 * used: a body over max_body is refused as soon as a header or chunk size
 * announces it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "http_parse.h"

enum { CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, CHUNK_TRAILER, CHUNK_DONE };


void http_response_init(struct http_response *r, int head_request, size_t max_body)
{
	memset(r, 0, sizeof *r);
	r->head_request = head_request;
	r->max_body = max_body;
}

static int fail(struct http_response *r, int err, const char *why)
{
	r->error = why;
	return -err;
}

static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Case-insensitive comparison of buf[off, off+len) with the lower-case word. */
static int equals_word(const char *buf, size_t off, size_t len, const char *word)
{
	size_t n = strlen(word);
	if (len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)buf[off + i]) != (unsigned char)word[i])
			return 0;
	return 1;
}

/* The offset just past the blank line that ends the head, 0 if the bytes
 * so far hold none (r->scanned remembers how far they were searched). */
static size_t find_head_end(struct http_response *r, const char *buf, size_t len)
{
	size_t i = r->scanned > r->start ? r->scanned : r->start;
	for (; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 >= len || (buf[i + 1] == '\r' && i + 2 >= len)) {
			r->scanned = i; /* undecided: look again with more bytes */
			return 0;
		}
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	r->scanned = len;
	return 0;
}

/* One line of [*pos, end): its length without the line end; *pos moves past it. */
static size_t next_line(const char *buf, size_t *pos, size_t end, size_t *line)
{
	size_t s = *pos, e = s;
	while (e < end && buf[e] != '\n')
		e++;
	*line = s;
	*pos = e < end ? e + 1 : end;
	if (e > s && buf[e - 1] == '\r')
		e--;
	return e - s;
}

static int parse_status_line(struct http_response *r, const char *buf, size_t off, size_t n)
{
	const char *p = buf + off;
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
		return fail(r, EPROTO, "not an HTTP/1.x status line");
	int status = 0;
	for (int i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return fail(r, EPROTO, "status code is not 3 digits");
		status = status * 10 + (p[i] - '0');
	}
	if (status < 100)
		return fail(r, EPROTO, "status code below 100");
	if (n > 12 && p[12] != ' ')
		return fail(r, EPROTO, "status code is not 3 digits");
	for (size_t i = 13; i < n; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
			return fail(r, EPROTO, "control character in the reason phrase");
	r->status = status;
	return 0;
}

static int parse_header_line(struct http_response *r, char *buf, size_t off, size_t n)
{
	size_t colon = 0;
	while (colon < n && is_tchar((unsigned char)buf[off + colon]))
		colon++;
	if (colon == 0 && n > 0 && (buf[off] == ' ' || buf[off] == '\t'))
		return fail(r, EPROTO, "folded header line (obsolete line folding)");
	if (colon == 0 || colon >= n || buf[off + colon] != ':')
		return fail(r, EPROTO, "malformed header line");
	size_t v = colon + 1, ve = n;
	while (v < ve && (buf[off + v] == ' ' || buf[off + v] == '\t'))
		v++;
	while (ve > v && (buf[off + ve - 1] == ' ' || buf[off + ve - 1] == '\t'))
		ve--;
	for (size_t i = v; i < ve; i++) {
		unsigned char c = (unsigned char)buf[off + i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(r, EPROTO, "control character in a header value");
	}
	if (r->n_headers == HTTP_MAX_HEADERS)
		return fail(r, EPROTO, "too many header lines");
	for (size_t i = 0; i < colon; i++)
		buf[off + i] = (char)lower((unsigned char)buf[off + i]);
	struct http_header *h = &r->headers[r->n_headers++];
	h->name = off;
	h->name_len = colon;
	h->value = off + v;
	h->value_len = ve - v;
	return 0;
}

/* Decimal digits only, no sign, no list: anything else is refused. */
static int parse_length(const char *p, size_t n, size_t *out)
{
	if (n == 0)
		return -1;
	size_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* How the body is delimited, from the status and the headers. */
static int choose_framing(struct http_response *r, const char *buf)
{
	int te = 0, cl = 0;
	size_t length = 0;
	for (size_t i = 0; i < r->n_headers; i++) {
		const struct http_header *h = &r->headers[i];
		if (equals_word(buf, h->name, h->name_len, "transfer-encoding")) {
			if (te++ || !equals_word(buf, h->value, h->value_len, "chunked"))
				return fail(r, EPROTO, "unsupported Transfer-Encoding (only chunked is)");
		} else if (equals_word(buf, h->name, h->name_len, "content-length")) {
			size_t v;
			if (parse_length(buf + h->value, h->value_len, &v) != 0)
				return fail(r, EPROTO, "malformed Content-Length");
			if (cl++ && v != length)
				return fail(r, EPROTO, "conflicting Content-Length headers");
			length = v;
		}
	}
	if (r->head_request || r->status == 204 || r->status == 304) {
		r->framing = HTTP_BODY_NONE;
	} else if (te) {
		/* RFC 9112 6.3: Transfer-Encoding overrides Content-Length. */
		r->framing = HTTP_BODY_CHUNKED;
		r->chunk_state = CHUNK_SIZE;
	} else if (cl) {
		if (length > r->max_body)
			return fail(r, EMSGSIZE, "Content-Length over the body limit");
		r->framing = HTTP_BODY_LENGTH;
		r->content_length = length;
	} else {
		r->framing = HTTP_BODY_EOF;
	}
	return 0;
}

/* Status line and headers, once the bytes hold them all; 1xx interim
 * responses are skipped. Returns 1 when the head is parsed, HTTP_MORE, or
 * a negative errno. */
static int parse_head(struct http_response *r, char *buf, size_t len, int eof)
{
	for (;;) {
		size_t end = find_head_end(r, buf, len);
		if (end == 0) {
			if (len - r->start > HTTP_MAX_HEAD)
				return fail(r, EMSGSIZE, "response headers over 64 KiB");
			if (eof)
				return fail(r, EPROTO, len == r->start ? "empty response"
					: "connection closed in the middle of the headers");
			return HTTP_MORE;
		}
		if (end - r->start > HTTP_MAX_HEAD)
			return fail(r, EMSGSIZE, "response headers over 64 KiB");
		size_t pos = r->start, line;
		size_t n = next_line(buf, &pos, end, &line);
		int rc = parse_status_line(r, buf, line, n);
		if (rc < 0)
			return rc;
		r->n_headers = 0;
		while (pos < end) {
			n = next_line(buf, &pos, end, &line);
			if (n == 0)
				break;
			for (size_t i = 0; i < n; i++)
				if (buf[line + i] == '\r' || buf[line + i] == '\0')
					return fail(r, EPROTO, "bare CR or NUL in the headers");
			if ((rc = parse_header_line(r, buf, line, n)) < 0)
				return rc;
		}
		if (r->status == 101)
			return fail(r, EPROTO, "unexpected 101 Switching Protocols");
		if (r->status < 200) { /* 100 Continue, 103 Early Hints: the answer follows */
			r->start = r->scanned = end;
			continue;
		}
		if ((rc = choose_framing(r, buf)) < 0)
			return rc;
		r->head_len = end - r->start;
		r->body = r->raw = end;
		return 1;
	}
}

/* The line at buf[r->raw, len): its length without the end, and *next the
 * offset past it; -1 when incomplete. */
static long chunk_line(const struct http_response *r, const char *buf, size_t len, size_t *next)
{
	const char *nl = memchr(buf + r->raw, '\n', len - r->raw);
	if (nl == NULL)
		return -1;
	size_t e = (size_t)(nl - buf);
	*next = e + 1;
	if (e > r->raw && buf[e - 1] == '\r')
		e--;
	return (long)(e - r->raw);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)lower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_chunk_size(struct http_response *r, const char *p, size_t n)
{
	size_t i = 0, size = 0;
	for (; i < n && hex_value(p[i]) >= 0; i++) {
		if (size > (SIZE_MAX >> 4))
			return fail(r, EMSGSIZE, "chunk size over the body limit");
		size = (size << 4) | (size_t)hex_value(p[i]);
	}
	if (i == 0)
		return fail(r, EPROTO, "malformed chunk size");
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < n && p[i] != ';')
		return fail(r, EPROTO, "malformed chunk size");
	for (; i < n; i++) /* chunk extensions: ignored, but no control bytes */
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
			return fail(r, EPROTO, "control character in a chunk extension");
	if (size > r->max_body - r->body_len)
		return fail(r, EMSGSIZE, "chunked body over the body limit");
	r->chunk_left = size;
	r->chunk_state = size ? CHUNK_DATA : CHUNK_TRAILER;
	return 0;
}

/* Decodes what it can of a chunked body, in place: the data bytes move
 * down to buf[body + body_len), always behind the raw bytes still to read
 * (each chunk's size line is at least two bytes). */
static int parse_chunked(struct http_response *r, char *buf, size_t *lenp, int eof)
{
	size_t len = *lenp;
	while (r->chunk_state != CHUNK_DONE) {
		size_t next = 0;
		long n;
		switch (r->chunk_state) {
		case CHUNK_SIZE:
		case CHUNK_TRAILER:
			n = chunk_line(r, buf, len, &next);
			if (n < 0) {
				if (len - r->raw > HTTP_MAX_CHUNK_LINE)
					return fail(r, EPROTO, "chunk size or trailer line too long");
				goto more;
			}
			if (n > HTTP_MAX_CHUNK_LINE)
				return fail(r, EPROTO, "chunk size or trailer line too long");
			if (r->chunk_state == CHUNK_SIZE) {
				int rc = parse_chunk_size(r, buf + r->raw, (size_t)n);
				if (rc < 0)
					return rc;
			} else if (n == 0) {
				r->chunk_state = CHUNK_DONE;
			}
			r->raw = next;
			break;
		case CHUNK_DATA: {
			size_t avail = len - r->raw;
			size_t take = avail < r->chunk_left ? avail : r->chunk_left;
			memmove(buf + r->body + r->body_len, buf + r->raw, take);
			r->body_len += take;
			r->raw += take;
			r->chunk_left -= take;
			if (r->chunk_left > 0)
				goto more;
			r->chunk_state = CHUNK_DATA_END;
			break;
		}
		case CHUNK_DATA_END:
			if (r->raw < len && buf[r->raw] == '\n') {
				r->raw += 1;
			} else if (r->raw + 1 < len && buf[r->raw] == '\r' && buf[r->raw + 1] == '\n') {
				r->raw += 2;
			} else if (r->raw >= len || (r->raw + 1 == len && buf[r->raw] == '\r')) {
				goto more;
			} else {
				return fail(r, EPROTO, "chunk data longer than its size");
			}
			r->chunk_state = CHUNK_SIZE;
			break;
		}
	}
	return HTTP_DONE;
more:
	/* Move what is left to decode down behind the decoded bytes: the
	 * buffer then never holds more framing than one line of it. */
	if (r->raw > r->body + r->body_len) {
		size_t to = r->body + r->body_len;
		memmove(buf + to, buf + r->raw, len - r->raw);
		*lenp = to + (len - r->raw);
		r->raw = to;
	}
	if (eof)
		return fail(r, EPROTO, "connection closed in the middle of the chunked body");
	return HTTP_MORE;
}

size_t http_buffer_bound(size_t max_body, size_t read)
{
	/* Head, body, one framing line and its end, the next read. */
	if (max_body > SIZE_MAX / 2)
		max_body = SIZE_MAX / 2;
	return HTTP_MAX_HEAD + max_body + HTTP_MAX_CHUNK_LINE + 2 + read;
}

int http_parse(struct http_response *r, char *buf, size_t *lenp, int eof)
{
	size_t len = *lenp;
	if (r->head_len == 0) {
		int rc = parse_head(r, buf, len, eof);
		if (rc != 1)
			return rc;
	}
	switch (r->framing) {
	case HTTP_BODY_NONE:
		r->body_len = 0;
		return HTTP_DONE;
	case HTTP_BODY_LENGTH:
		if (len - r->body >= r->content_length) {
			r->body_len = r->content_length;
			return HTTP_DONE;
		}
		if (eof)
			return fail(r, EPROTO, "connection closed before Content-Length bytes of body");
		return HTTP_MORE;
	case HTTP_BODY_CHUNKED:
		return parse_chunked(r, buf, lenp, eof);
	case HTTP_BODY_EOF:
		if (len - r->body > r->max_body)
			return fail(r, EMSGSIZE, "body over the body limit");
		r->body_len = len - r->body;
		return eof ? HTTP_DONE : HTTP_MORE;
	}
	return fail(r, EPROTO, "unknown framing");
}
