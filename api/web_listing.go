package api

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/clickhouse"
)

// Pages of listings: the admin's page and per_page, seed 002's cursors,
// and one page of the warehouse's conversions.

// writeListing answers an admin listing read from the catalog: the page
// of all under key, and meta with the total.
func writeListing[T any](ctx *fasthttp.RequestCtx, key string, all []T, page, perPage int) {
	writePage(ctx, key, pageOf(all, page, perPage), len(all), page, perPage)
}

// pageOf is page (from 1) of all, perPage a page.
func pageOf[T any](all []T, page, perPage int) []T {
	from := min((page-1)*perPage, len(all))
	return all[from:min(from+perPage, len(all))]
}

// writePage answers an admin listing's page: items under key, and meta
// with the total.
func writePage(ctx *fasthttp.RequestCtx, key string, items any, total, page, perPage int) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"success": true,
		key:       items,
		"meta":    map[string]int{"total": total, "page": page, "per_page": perPage},
	})
}

// paging reads page and per_page (default 1 and 100, per_page at most
// MaxPageSize); ok is false and the answer sent when they are not numbers
// in range.
func (s *Server) paging(ctx *fasthttp.RequestCtx, fail func(*fasthttp.RequestCtx, int, string, string), code string) (page, perPage int, ok bool) {
	page, perPage = 1, 100
	args := ctx.QueryArgs()
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &page, 1 << 30}, {"per_page", &perPage, s.config.MaxPageSize}} {
		if raw := args.Peek(p.name); len(raw) > 0 {
			n, err := strconv.Atoi(string(raw))
			if err != nil || n < 1 || n > p.max {
				fail(ctx, fasthttp.StatusBadRequest, code, fmt.Sprintf("%s must be a whole number from 1 to %d.", p.name, p.max))
				return 0, 0, false
			}
			*p.dst = n
		}
	}
	return page, perPage, true
}

// Cursors are opaque to the caller: base64url of a tagged position, so a
// cursor of one listing is refused by another.
func encodeCursor(kind, position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + position))
}

// decodeCursor returns the position in a cursor of kind; ok is false for
// anything this server did not hand out.
func decodeCursor(kind, cursor string) (string, bool) {
	if len(cursor) > 256 {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", false
	}
	tag, position, found := strings.Cut(string(raw), ":")
	if !found || tag != kind || position == "" {
		return "", false
	}
	return position, true
}

const msgBadCursor = "cursor is not valid; pass the nextCursor of the previous page"

// conversionPage reads one page of the conversions q selects and how many
// it selects in all; a storage failure is answered (ok false). The list is
// read only when the page starts inside the total.
func (s *Server) conversionPage(ctx *fasthttp.RequestCtx, q clickhouse.ConversionQuery) (list []model.Conversion, total uint64, ok bool) {
	rctx, cancel := requestContext(ctx)
	defer cancel()
	total, err := s.deps.Warehouse.CountConversions(rctx, q)
	if err != nil {
		s.storageError(ctx, err)
		return nil, 0, false
	}
	if uint64(q.Offset) < total {
		if list, err = s.deps.Warehouse.Conversions(rctx, q); err != nil {
			s.storageError(ctx, err)
			return nil, 0, false
		}
	}
	return list, total, true
}
