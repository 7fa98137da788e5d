package api

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
	"github.com/clickrelay/clickrelay/storage/redis"
)

// Changing an entity that exists: every PATCH, rotation and re-enabling.

// errAnswered, returned by an update's change, means the change refused
// the request and answered it (a 400 in the surface's envelope).
var errAnswered = errors.New("answered")

// update applies change to e as it is stored now, not as this process's
// catalog shows it: the entity store reads it again and saves the result
// only if nothing was written in between, or applies change again to the
// newer version. So a PATCH never undoes a write made meanwhile (the
// postback worker disabling a failing postback, another admin's PATCH),
// as saving an edited copy of the catalog's entity would. change may run
// more than once, and returns redis.ErrNoChange to save nothing.
//
// An entity deleted meanwhile is answered 404 in fail's envelope, a storage
// failure 503; ok is false then, and when change answered.
func (s *Server) update(ctx *fasthttp.RequestCtx, e model.Entity, fail surfaceFail, change func(model.Entity) (model.Entity, error)) (model.Entity, bool) {
	rctx, cancel := requestContext(ctx)
	defer cancel()
	saved, err := s.deps.Store.UpdateEntity(rctx, e.EntityKind(), e.EntityID(), change)
	switch {
	case err == nil:
		return saved, true
	case errors.Is(err, errAnswered):
	case errors.Is(err, redis.ErrNoEntity):
		fail(ctx, fasthttp.StatusNotFound, "not_found", "It was deleted meanwhile.")
	default:
		s.storageError(ctx, err)
	}
	return nil, false
}
