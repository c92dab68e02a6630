/*
 * http_parse.h: the parser of an HTTP/1.1 response, fed as bytes arrive.
 * No I/O and no allocation: it works in the caller's buffer, keeps offsets
 * into it, and decodes a chunked body in place (the decoded bytes never
 * overtake the raw ones). lua_http.c reads from the socket into that buffer
 * and calls http_parse after each read; the fuzz target feeds it the same
 * bytes in slices of every size and expects the same answer.
 */
#ifndef CCCHEF_HTTP_PARSE_H
#define CCCHEF_HTTP_PARSE_H

#include <stddef.h>

/* More headers than this is a malformed (or hostile) response. */
#define HTTP_MAX_HEADERS 100
/* Status line and headers together, at most. */
#define HTTP_MAX_HEAD (64 * 1024)

enum http_result {
	HTTP_MORE = 0,  /* a complete response needs more bytes */
	HTTP_DONE = 1,  /* status, headers and body are complete */
};

enum http_framing {
	HTTP_BODY_NONE,    /* HEAD, 1xx, 204, 304 */
	HTTP_BODY_LENGTH,  /* Content-Length */
	HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
	HTTP_BODY_EOF,     /* neither: the body ends when the server closes */
};

/* A chunk-size or trailer line longer than this is refused (no server
 * needs one; a hostile one would make us buffer until the deadline). */
#define HTTP_MAX_CHUNK_LINE 4096

/* A header as offsets into the buffer; the name is lower-cased in place,
 * the value has its surrounding blanks cut. */
struct http_header {
	size_t name, name_len, value, value_len;
};

struct http_response {
	/* Set by the caller before the first call. */
	int head_request;  /* a response to HEAD has no body */
	size_t max_body;   /* a longer (decoded) body is an error */

	/* Results. */
	int status;
	size_t n_headers;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t body;       /* offset of the (decoded) body */
	size_t body_len;
	enum http_framing framing;

	/* Parser state. */
	size_t start;         /* where the response being parsed begins (after 1xx) */
	size_t scanned;       /* no end of head starts before this offset */
	size_t head_len;      /* 0 until the head is complete */
	size_t content_length;
	size_t raw;           /* chunked: offset of the first raw byte not decoded */
	size_t chunk_left;    /* chunked: data bytes left in the current chunk */
	int chunk_state;      /* chunked: what the bytes at `raw` are */
	const char *error;    /* why the response was refused */
};

/* Zero r except the two caller fields. */
void http_response_init(struct http_response *r, int head_request, size_t max_body);

/* What a buffer needs to hold, at most, for a response parsed with
 * max_body (a chunked body is compacted as it is decoded) plus `read`
 * bytes of the next read. */
size_t http_buffer_bound(size_t max_body, size_t read);

/*
 * Parse buf[0, *len) (the response so far, the same bytes plus more at
 * each call: the buffer may move between calls, the bytes before *len may
 * not change except by this parser). A chunked body is decoded in place
 * and the raw bytes not yet decoded are moved down behind it, so *len may
 * shrink: new bytes go at the new *len. eof says the server closed the
 * connection. Returns HTTP_DONE, HTTP_MORE, or -EPROTO (malformed:
 * r->error says how) or -EMSGSIZE (head over HTTP_MAX_HEAD or body over
 * max_body).
 */
int http_parse(struct http_response *r, char *buf, size_t *len, int eof);

#endif
