package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clickrelay/clickrelay/internal/promtext"
	"github.com/clickrelay/clickrelay/internal/testenv"
	"github.com/clickrelay/clickrelay/internal/testkit"
)

// dashboardFile is the Grafana dashboard shipped for operators.
const dashboardFile = "../../deploy/grafana/clickrelay.json"

// TestMetricsPassPromtool scrapes a running stack after a click, a
// conversion and a postback (so every family has samples) and checks the
// exposition with Prometheus' own linter, and the Grafana dashboard's
// queries against it.
func TestMetricsPassPromtool(t *testing.T) {
	promtool := testenv.Promtool(t)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startStack(t, "CLICKRELAY_METRICS_ADDR="+metricsAddr)
	n := s.setUp("https://shop.example.com/land?cid={click_id}")
	receiver := newReceiver(t)
	affiliate := map[string]string{"Authorization": "Bearer " + n.affiliateKey}
	if code := s.call("POST", "/v1/postbacks", affiliate, fmt.Sprintf(`{"url":%q}`, receiver.URL+"/pb?cid={click_id}"), nil); code != 200 {
		t.Fatalf("register postback: %d", code)
	}
	status, location := s.click(fmt.Sprintf("/click/%s?aff_id=%s", n.offerID, n.affiliateID))
	if status != 302 {
		t.Fatalf("click: %d", status)
	}
	advertiser := map[string]string{"X-API-Key": n.advertiserKey, "Content-Type": "application/json"}
	body := fmt.Sprintf(`{"click_id":%q,"amount":"10","txid":"ORDER-1"}`, clickID(t, location, "cid"))
	if code := s.call("POST", "/api/v1/conversions", advertiser, body, nil); code != 200 {
		t.Fatalf("conversion: %d", code)
	}
	receiver.Await(t, 1, 30*time.Second)
	// Scraped once the sink has stored the click and the attempt, so the
	// histograms of every stage hold an observation.
	var exposition []byte
	testkit.Poll(t, "the click and the postback attempt stored", 30*time.Second, func() (bool, string) {
		exposition = scrape(t, s.base+"/metrics")
		var missing []string
		for _, line := range []string{`clickrelay_sink_records_total{topic="clicks"} 1`, `clickrelay_sink_records_total{topic="postback_attempts"} 1`,
			"clickrelay_postback_request_seconds_count 1"} {
			if !bytes.Contains(exposition, []byte("\n"+line+"\n")) {
				missing = append(missing, line)
			}
		}
		return len(missing) == 0, fmt.Sprintf("/metrics lacks %s", strings.Join(missing, ", "))
	})

	if u := promtext.Undocumented(exposition); len(u) != 0 {
		t.Errorf("families without HELP text: %v\n(add a sentence for each to its component's MetricHelp)", u)
	}
	if bytes.Contains(exposition, []byte("vmrange")) {
		t.Error("a histogram is exposed with vmrange buckets, which histogram_quantile cannot read")
	}
	checkMetrics(t, promtool, "/metrics", exposition)

	// CLICKRELAY_METRICS_ADDR, where a `work` process is scraped, serves
	// the same families.
	alone := scrape(t, "http://"+metricsAddr+"/metrics")
	checkMetrics(t, promtool, "CLICKRELAY_METRICS_ADDR's /metrics", alone)
	if got, want := exposedFamilies(alone), exposedFamilies(exposition); len(got) != len(want) {
		t.Errorf("CLICKRELAY_METRICS_ADDR serves %d families, the API's /metrics %d", len(got), len(want))
	}

	t.Run("dashboard", func(t *testing.T) {
		exprs := dashboardExprs(t)
		families := exposedFamilies(exposition)
		for _, expr := range exprs {
			names := metricName.FindAllString(expr, -1)
			if len(names) == 0 {
				t.Errorf("%s: names no clickrelay, go_ or process_ metric", expr)
			}
			for _, name := range names {
				if !families.has(name) {
					t.Errorf("%s: %s is not in /metrics", expr, name)
				}
			}
		}
		checkPromQL(t, promtool, exprs)
	})
}

// checkMetrics fails the test on anything promtool finds in exposition.
func checkMetrics(t *testing.T, promtool, what string, exposition []byte) {
	t.Helper()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics on %s: %v\n%s", what, err, out)
	}
}

func scrape(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

// metricName finds the metric names in a PromQL expression: every metric
// clickrelay exposes starts with one of these prefixes, and no label name,
// function or Grafana variable ($__rate_interval) does.
var metricName = regexp.MustCompile(`\b(?:clickrelay|go|process)_[a-zA-Z0-9_:]*`)

// families maps each family of an exposition to its TYPE.
type families map[string]string

func exposedFamilies(exposition []byte) families {
	f := families{}
	for _, line := range strings.Split(string(exposition), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			f[name] = typ
		}
	}
	return f
}

// has reports whether a query's series name exists: a family itself, or
// a histogram's _bucket, _sum and _count, or a summary's _sum and _count.
// A counter named like x_count is no histogram's: the suffix is only
// stripped where the family's type has it.
func (f families) has(name string) bool {
	if _, ok := f[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		switch f[base] {
		case "histogram":
			return true
		case "summary":
			return suffix != "_bucket"
		}
	}
	return false
}

// dashboardExprs returns every PromQL query of the dashboard: the panels'
// expr fields and the template variables' queries, wherever they nest.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				walk(child, k)
			}
		case []any:
			for _, child := range v {
				walk(child, key)
			}
		case string:
			if key == "expr" || key == "definition" {
				exprs = append(exprs, v)
			}
		}
	}
	walk(doc, "")
	if len(exprs) < 10 {
		t.Fatalf("%s has %d queries; the walk misses them", dashboardFile, len(exprs))
	}
	sort.Strings(exprs)
	return exprs
}

// grafanaVariables are what Grafana substitutes before a query reaches
// Prometheus, replaced here by values of the same kind.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "1m", "$__range", "3h", "$job", ".*")

// checkPromQL has promtool parse each panel query, as recording rules.
func checkPromQL(t *testing.T, promtool string, exprs []string) {
	t.Helper()
	var rules strings.Builder
	rules.WriteString("groups:\n- name: dashboard\n  rules:\n")
	for i, expr := range exprs {
		if strings.HasPrefix(expr, "label_values(") {
			continue // a Grafana function, not PromQL
		}
		q, _ := json.Marshal(grafanaVariables.Replace(expr)) // a JSON string is a YAML string
		fmt.Fprintf(&rules, "  - record: dashboard_query_%d\n    expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules (the dashboard's queries): %v\n%s", err, out)
	}
}
