package api

import (
	"github.com/valyala/fasthttp"

	"github.com/clickrelay/clickrelay/model"
)

// The network's traffic controls: GET and PUT /v2/traffic-controls.

// trafficControlsView is the traffic controls as the admin reads them:
// empty lists, and no updated_at, before any were set.
type trafficControlsView struct {
	IPs        []string `json:"ips"`
	UserAgents []string `json:"user_agents"`
	UpdatedAt  *string  `json:"updated_at"`
}

func viewTrafficControls(c *model.TrafficControls) trafficControlsView {
	v := trafficControlsView{IPs: []string{}, UserAgents: []string{}}
	if c == nil {
		return v
	}
	if c.IPs != nil {
		v.IPs = c.IPs
	}
	if c.UserAgents != nil {
		v.UserAgents = c.UserAgents
	}
	if c.UpdatedAt != "" {
		v.UpdatedAt = &c.UpdatedAt
	}
	return v
}

func answerTrafficControls(ctx *fasthttp.RequestCtx, c *model.TrafficControls) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "traffic_controls": viewTrafficControls(c)})
}

// getTrafficControls serves GET /v2/traffic-controls.
func (s *Server) getTrafficControls(ctx *fasthttp.RequestCtx) {
	answerTrafficControls(ctx, s.catalog.TrafficControls())
}

// putTrafficControls serves PUT /v2/traffic-controls: each list the body
// names (ips, user_agents) replaces the one in force, on the controls as
// stored at that moment; a list left out stays as it is.
func (s *Server) putTrafficControls(ctx *fasthttp.RequestCtx) {
	fields, ok := jsonFields(ctx)
	if !ok {
		return
	}
	var ips, agents []string
	rawIPs, setIPs := fields["ips"]
	if setIPs {
		list, err := model.ParseTrafficList(rawIPs, "ips")
		if err == nil {
			ips, err = model.ParseBlockedIPs(list)
		}
		if err != nil {
			envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
			return
		}
	}
	rawAgents, setAgents := fields["user_agents"]
	if setAgents {
		list, err := model.ParseTrafficList(rawAgents, "user_agents")
		if err == nil {
			agents, err = model.ParseBlockedAgents(list)
		}
		if err != nil {
			envelopeError(ctx, fasthttp.StatusBadRequest, err.Code, err.Message)
			return
		}
	}
	rctx, cancel := requestContext(ctx)
	defer cancel()
	saved, err := s.deps.Store.UpsertEntity(rctx, model.KindTrafficControls, model.TrafficControlsID, func(e model.Entity) (model.Entity, error) {
		next := &model.TrafficControls{}
		if c, _ := e.(*model.TrafficControls); c != nil {
			*next = *c // a copy of its own: stored entities are immutable
		}
		if setIPs {
			next.SetIPs(ips)
		}
		if setAgents {
			next.SetUserAgents(agents)
		}
		next.UpdatedAt = model.FormatTime(now(), model.APITimeLayout)
		return next, nil
	})
	if err != nil {
		s.storageError(ctx, err)
		return
	}
	answerTrafficControls(ctx, saved.(*model.TrafficControls))
}
