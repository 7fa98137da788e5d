package redis

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRedisURLNamesOneRedisOrACluster(t *testing.T) {
	cases := []struct {
		name, url string
		cluster   bool
		addrs     []string // for a cluster
		password  string
		err       string
	}{
		{name: "one Redis", url: "redis://127.0.0.1:6379/0"},
		{name: "one Redis, database 2", url: "redis://10.0.0.1:6379/2"},
		{name: "cluster scheme, one seed node", url: "redis+cluster://10.0.0.1:7000",
			cluster: true, addrs: []string{"10.0.0.1:7000"}},
		{name: "cluster scheme, three nodes", url: "redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000",
			cluster: true, addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}},
		{name: "several nodes with the plain scheme", url: "redis://h1:7000,h2:7001/0",
			cluster: true, addrs: []string{"h1:7000", "h2:7001"}},
		{name: "password and options", url: "rediss+cluster://:s3cret@h1:7000,h2:7000?dial_timeout=3s",
			cluster: true, addrs: []string{"h1:7000", "h2:7000"}, password: "s3cret"},
		{name: "a cluster has database 0 only", url: "redis+cluster://h1:7000,h2:7000/3",
			cluster: true, err: "database 0 only"},
		{name: "no node", url: "redis+cluster:///", cluster: true, err: "no Redis Cluster node"},
		{name: "an unknown option", url: "redis+cluster://h1:7000?colour=red", cluster: true, err: "colour"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := isClusterURL(tc.url); got != tc.cluster {
				t.Fatalf("isClusterURL = %v, want %v", got, tc.cluster)
			}
			if !tc.cluster {
				return
			}
			opts, err := clusterOptions(tc.url)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(opts.Addrs, tc.addrs) || opts.Password != tc.password {
				t.Fatalf("nodes %v password %q, want %v %q", opts.Addrs, opts.Password, tc.addrs, tc.password)
			}
			if strings.HasPrefix(tc.url, "rediss") && opts.TLSConfig == nil {
				t.Fatal("rediss+cluster:// should use TLS")
			}
		})
	}
	if opts, err := clusterOptions("redis+cluster://h1:7000?dial_timeout=3s"); err != nil || opts.DialTimeout != 3*time.Second {
		t.Fatalf("options from the query: %v, dial timeout %v", err, opts.DialTimeout)
	}
}

// On a Redis Cluster the keys one script or MULTI touches carry one hash
// tag; on one Redis the names are those of earlier versions.
func TestKeysCarryHashTagsOnACluster(t *testing.T) {
	one, cluster := keys{prefix: "cr:"}, keys{prefix: "cr:", cluster: true}
	cases := []struct {
		name           string
		single, tagged string
		oneRedis, onCl string
	}{
		{"click", one.click("abc"), cluster.click("abc"), "cr:click:abc", "cr:click:{abc}"},
		{"test click", one.testClick("abc"), cluster.testClick("abc"), "cr:testclick:abc", "cr:testclick:{abc}"},
		{"claim", one.claim("7", ClaimTxID, "7:T1"), cluster.claim("7", ClaimTxID, "7:T1"), "cr:claim:tx:7:T1", "cr:claim:{7}:tx:7:T1"},
		{"retry queue", one.retryQueue(), cluster.retryQueue(), "cr:pb:retry", "cr:pb:{q}:retry"},
		{"dead letter", one.deadLetter("pb_1"), cluster.deadLetter("pb_1"), "cr:pb:dead:pb_1", "cr:pb:{q}:dead:pb_1"},
		{"dead jobs", one.deadLetterJobs("pb_1"), cluster.deadLetterJobs("pb_1"), "cr:pb:deadjob:pb_1", "cr:pb:{q}:deadjob:pb_1"},
		{"failures", one.failures("pb_1"), cluster.failures("pb_1"), "cr:pb:fails:pb_1", "cr:pb:{q}:fails:pb_1"},
		{"delivered mark", one.delivered("c", "pb_1", "e"), cluster.delivered("c", "pb_1", "e"), "cr:pb:done:c:pb_1:e", "cr:pb:done:c:pb_1:e"},
	}
	for _, tc := range cases {
		if tc.single != tc.oneRedis || tc.tagged != tc.onCl {
			t.Errorf("%s: %q and %q, want %q on one Redis and %q on a cluster", tc.name, tc.single, tc.tagged, tc.oneRedis, tc.onCl)
		}
	}
}

// On a cluster the claims of one call must share their group (hash tag):
// a script touching two slots would fail, so the mistake is named at once.
func TestClusterClaimsNeedOneGroup(t *testing.T) {
	cases := []struct {
		name   string
		claims []Claim
		err    bool
	}{
		{"one group", []Claim{{ClaimTxID, "7:T1", "7"}, {ClaimClick, "o3:c1", "7"}}, false},
		{"two groups", []Claim{{ClaimTxID, "7:T1", "7"}, {ClaimClick, "o3:c1", "8"}}, true},
		{"no group", []Claim{{ClaimTxID, "7:T1", ""}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Component{cluster: true, keys: keys{prefix: "cr:", cluster: true}}
			names, err := c.claimKeys(tc.claims)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want one: %v", err, tc.err)
			}
			if err == nil && names[0] != "cr:claim:{7}:tx:7:T1" {
				t.Fatalf("key %q", names[0])
			}
			// On one Redis the group is not part of the key.
			single := &Component{keys: keys{prefix: "cr:"}}
			if k, err := single.claimKeys(tc.claims); err != nil || k[0] != "cr:claim:tx:7:T1" {
				t.Fatalf("one Redis: %v %v", k, err)
			}
		})
	}
}
