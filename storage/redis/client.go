package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// clusterSchemes name a Redis Cluster whatever the number of nodes listed;
// the plain schemes name one with a comma-separated list of several nodes.
var clusterSchemes = map[string]string{"redis+cluster": "redis", "rediss+cluster": "rediss"}

// isClusterURL reports whether CLICKRELAY_REDIS_URL names a Redis Cluster:
// a redis+cluster:// (rediss+cluster://) scheme, or several nodes,
// redis://h1:7000,h2:7001,h3:7002.
func isClusterURL(raw string) bool {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return false
	}
	if _, ok := clusterSchemes[scheme]; ok {
		return true
	}
	authority, _, _ := strings.Cut(rest, "/")
	authority, _, _ = strings.Cut(authority, "?")
	return strings.Contains(authority, ",")
}

// clusterOptions turns a cluster URL into go-redis's options: its
// ParseClusterURL takes one node in the host and the others as addr
// query parameters, which is awkward to write by hand.
func clusterOptions(raw string) (*goredis.ClusterOptions, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	if plain, ok := clusterSchemes[scheme]; ok {
		scheme = plain
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo := ""
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, authority = authority[:i+1], authority[i+1:]
	}
	path, query, _ := strings.Cut(tail, "?")
	if db := strings.Trim(path, "/"); db != "" && db != "0" {
		return nil, fmt.Errorf("a Redis Cluster has database 0 only, and the URL names database %q", db)
	}
	var nodes []string
	for _, n := range strings.Split(authority, ",") {
		if n = strings.TrimSpace(n); n != "" {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 0 {
		return nil, errors.New("no Redis Cluster node is named (e.g. redis+cluster://10.0.0.1:7000,10.0.0.2:7000)")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("reading the URL's options: %w", err)
	}
	for _, n := range nodes[1:] {
		q.Add("addr", n)
	}
	opts, err := goredis.ParseClusterURL(scheme + "://" + userinfo + nodes[0] + "?" + q.Encode())
	if err != nil {
		return nil, err
	}
	return opts, nil
}

// newClient connects to what CLICKRELAY_REDIS_URL names: one Redis, or a
// Redis Cluster. It returns the client, whether it is a cluster, and the
// address(es) to name in messages.
func newClient(raw string) (goredis.UniversalClient, bool, string, error) {
	if isClusterURL(raw) {
		opts, err := clusterOptions(raw)
		if err != nil {
			return nil, false, "", fmt.Errorf("CLICKRELAY_REDIS_URL: %w", err)
		}
		// Per node: the click path's flushers each hold a connection while
		// a pipeline is in flight; leave room for them and for the API.
		opts.PoolSize = max(opts.PoolSize, 64)
		opts.MinIdleConns = 8
		return goredis.NewClusterClient(opts), true, strings.Join(opts.Addrs, ","), nil
	}
	opts, err := goredis.ParseURL(raw)
	if err != nil {
		return nil, false, "", fmt.Errorf("CLICKRELAY_REDIS_URL: %w", err)
	}
	opts.PoolSize = max(opts.PoolSize, 64)
	opts.MinIdleConns = 8
	return goredis.NewClient(opts), false, opts.Addr, nil
}

// forEachMaster runs fn on every master of a cluster, or on the one Redis.
// Commands whose answer is per server (SCAN, CONFIG GET) go through it.
func (c *Component) forEachMaster(ctx context.Context, fn func(ctx context.Context, node goredis.UniversalClient) error) error {
	return forEachMaster(ctx, c.client, fn)
}

// forEachMaster runs fn on every master of client's cluster (at once, one
// goroutine each), or on client itself when it is one Redis.
func forEachMaster(ctx context.Context, client goredis.UniversalClient, fn func(ctx context.Context, node goredis.UniversalClient) error) error {
	if cc, ok := client.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error { return fn(ctx, node) })
	}
	return fn(ctx, client)
}
