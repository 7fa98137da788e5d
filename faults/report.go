package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// result is what one scenario measured.
type result struct {
	Scenario    string   `json:"scenario"`
	Description string   `json:"description"`
	Processes   []string `json:"processes"`
	Took        string   `json:"took"`

	Fault           string `json:"fault_lasted"`
	Exit            string `json:"exit_after_sigterm,omitempty"`
	ExitCode        *int   `json:"exit_code,omitempty"`
	ExitWithinBound bool   `json:"exit_within_shutdown_timeout_plus_1s,omitempty"`
	Hung            bool   `json:"hung,omitempty"`
	Recover         string `json:"caught_up_after_fault"`
	CatchUp         string `json:"not_caught_up,omitempty"` // what was still missing at the deadline

	ClicksSent        int64 `json:"clicks_sent"`
	ClicksAnswered    int64 `json:"clicks_answered_302"`
	ClicksFailed      int64 `json:"clicks_not_answered_302"`
	ClicksDuringFault int64 `json:"clicks_answered_during_fault"`
	ClicksLostCH      int64 `json:"clicks_lost_clickhouse"`
	ClicksDoubled     int64 `json:"clicks_doubled_after_final"`
	ClickRows         int64 `json:"click_rows_before_final"`
	ClickRowsFinal    int64 `json:"click_rows_final"`
	// RollupClicksDoubled is the per-minute rollup's clicks beyond the
	// raw table's after folding (negative: fewer).
	RollupClicksDoubled int64 `json:"rollup_clicks_doubled"`
	// ClicksLostRedis are in neither Redis nor ClickHouse: no conversion
	// finds them. ClicksOnlyInCH are not in Redis but in ClickHouse, where
	// a conversion finds them too.
	ClicksLostRedis  int64 `json:"clicks_lost_redis"`
	ClicksOnlyInCH   int64 `json:"clicks_only_in_clickhouse"`
	ClicksLostMetric int64 `json:"clicks_lost_total_metric"`
	ClicksLostLogged int64 `json:"clicks_lost_logged"`

	ConversionsSent                 int64          `json:"conversions_sent"`
	ConversionsTracked              int64          `json:"conversions_tracked_200"`
	ConversionsDuplicateAck         int64          `json:"conversions_duplicate_txid_200"`
	ConversionsRefused              int64          `json:"conversions_refused_4xx"`
	ConversionsClickNotFound        int64          `json:"conversions_refused_click_not_found"`
	ConversionsGaveUp               int64          `json:"conversions_gave_up_5xx"`
	ConversionsLost                 int64          `json:"conversions_lost"`
	ConversionsDoubled              int64          `json:"conversions_doubled"`
	ConversionsStoredUnacknowledged int64          `json:"conversions_stored_not_acknowledged"`
	Refusals                        map[string]int `json:"refusals,omitempty"`

	OutageConverted outage `json:"outage_clicks_converted"`

	PostbacksExpected int64 `json:"postbacks_expected"`
	PostbacksReceived int64 `json:"postbacks_received"`
	PostbacksLost     int64 `json:"postbacks_lost"`
	PostbacksDoubled  int64 `json:"postbacks_doubled"`

	Panics int      `json:"panics_in_logs"`
	Errors []string `json:"errors,omitempty"`
	Logs   string   `json:"logs"`
}

// outage counts the conversions sent, after the fault, on clicks answered
// during it.
type outage struct {
	Sent    int64 `json:"sent"`
	Tracked int64 `json:"tracked"`
	Refused int64 `json:"refused"`
	GaveUp  int64 `json:"gave_up"`
}

// counted is how many clicks clickrelay itself said it lost.
func (r result) counted() int64 { return max(r.ClicksLostMetric, r.ClicksLostLogged) }

// lost counts the broken promises nobody was told about: clicks missing
// from a store beyond those clickrelay counted as lost, conversions
// acknowledged but not stored, lagging clicks refused, postbacks missing,
// and clicks answered during the fault that could not convert after it.
func (r result) lost() int64 {
	silent := max(r.ClicksLostCH, r.ClicksLostRedis) - r.counted()
	return max(silent, 0) + r.ConversionsLost + r.ConversionsClickNotFound + r.PostbacksLost + r.OutageConverted.GaveUp
}

func (r result) doubled() int64 {
	return r.ClicksDoubled + r.ConversionsDoubled + r.PostbacksDoubled + max(r.RollupClicksDoubled, 0)
}

func (r result) verdict() string {
	var bad []string
	switch {
	case r.lost() > 0:
		bad = append(bad, "LOST")
	case r.counted() > 0:
		bad = append(bad, "counted loss")
	}
	if r.doubled() > 0 {
		bad = append(bad, "DOUBLED")
	}
	if r.Hung || (r.Exit != "" && !r.ExitWithinBound) {
		bad = append(bad, "SLOW STOP")
	}
	if r.Panics > 0 {
		bad = append(bad, "PANIC")
	}
	if len(r.Errors) > 0 {
		bad = append(bad, "ERROR")
	}
	if len(bad) == 0 {
		return "ok"
	}
	return strings.Join(bad, ", ")
}

func (r result) oneLine() string {
	return fmt.Sprintf("%s: %d 302s, %d conversions tracked; lost %d, doubled %d; %v", r.verdict(), r.ClicksAnswered,
		r.ConversionsTracked, r.lost(), r.doubled(), r.Errors)
}

// report is one run of the suite.
type report struct {
	Started         time.Time `json:"started"`
	Finished        time.Time `json:"finished"`
	ClickRate       float64   `json:"click_rate"`
	ConversionRate  float64   `json:"conversion_rate"`
	ShutdownTimeout string    `json:"shutdown_timeout"`
	Results         []result  `json:"results"`
}

func (rep *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Fault suite, %s, %.0f clicks/s and %.0f conversions/s offered, CLICKRELAY_SHUTDOWN_TIMEOUT=%s.\n\n",
		rep.Started.Format("2006-01-02 15:04 UTC"), rep.ClickRate, rep.ConversionRate, rep.ShutdownTimeout)
	b.WriteString("| scenario | traffic | lost | doubled | fault / exit / caught up | outage clicks converted | verdict |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Results {
		exit := ""
		if r.Exit != "" {
			code := -1
			if r.ExitCode != nil {
				code = *r.ExitCode
			}
			exit = fmt.Sprintf(" / exit %s (code %d)", r.Exit, code)
		}
		fmt.Fprintf(&b, "| %s | %d 302s (%d not), %d conv. 200 | clicks: %d ClickHouse, %d Redis nor ClickHouse (counted %d; %d only in ClickHouse); conv.: %d stored, %d Click not found; postbacks: %d | clicks %d (rollup %d), conv. %d, postbacks %d | %s%s / %s | %d of %d (%d refused, %d gave up) | %s |\n",
			r.Scenario, r.ClicksAnswered, r.ClicksFailed, r.ConversionsTracked+r.ConversionsDuplicateAck,
			r.ClicksLostCH, r.ClicksLostRedis, r.counted(), r.ClicksOnlyInCH, r.ConversionsLost, r.ConversionsClickNotFound, r.PostbacksLost,
			r.ClicksDoubled, r.RollupClicksDoubled, r.ConversionsDoubled, r.PostbacksDoubled,
			r.Fault, exit, r.Recover,
			r.OutageConverted.Tracked, r.OutageConverted.Sent, r.OutageConverted.Refused, r.OutageConverted.GaveUp, r.verdict())
	}
	b.WriteString("\n")
	for _, r := range rep.Results {
		if len(r.Refusals) == 0 && len(r.Errors) == 0 && r.CatchUp == "" && r.ConversionsDuplicateAck == 0 && r.ConversionsStoredUnacknowledged == 0 {
			continue
		}
		fmt.Fprintf(&b, "- **%s**:", r.Scenario)
		if r.ConversionsDuplicateAck > 0 {
			fmt.Fprintf(&b, " %d retries answered duplicate_txid;", r.ConversionsDuplicateAck)
		}
		if r.ConversionsStoredUnacknowledged > 0 {
			fmt.Fprintf(&b, " %d conversions stored that the advertiser was never told were;", r.ConversionsStoredUnacknowledged)
		}
		var keys []string
		for k := range r.Refusals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, " %d× `%s`;", r.Refusals[k], k)
		}
		if r.CatchUp != "" {
			fmt.Fprintf(&b, " %s;", r.CatchUp)
		}
		for _, e := range r.Errors {
			fmt.Fprintf(&b, " error: %s;", e)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (rep *report) write(dir, table string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	stamp := rep.Started.Format("20060102-150405")
	for _, f := range []struct {
		name string
		data []byte
	}{{"latest.md", []byte(table)}, {"latest.json", raw}, {stamp + ".md", []byte(table)}, {stamp + ".json", raw}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
