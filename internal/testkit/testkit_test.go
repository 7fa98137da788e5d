package testkit

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// recorder is a test that records its failure instead of failing.
type recorder struct {
	testing.TB
	failure string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failure runs f as a test of its own and returns how it failed, "" when
// it did not.
func failure(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	Receive(t, "the recorded test's end", 10*time.Second, done)
	return r.failure
}

func TestPollNamesWhatWasAwaitedAndLastSeen(t *testing.T) {
	looks := 0
	got := failure(t, func(tb testing.TB) {
		Poll(tb, "the rows stored", 30*time.Millisecond, func() (bool, string) {
			looks++
			return false, fmt.Sprintf("%d rows", looks)
		})
	})
	if want := fmt.Sprintf("the rows stored: not within 30ms; last seen: %d rows", looks); got != want || looks < 2 {
		t.Fatalf("failure %q after %d looks, want %q", got, looks, want)
	}
	if got := failure(t, func(tb testing.TB) {
		Settle(tb, "nothing missing", time.Minute, func() string { return "" })
	}); got != "" {
		t.Fatalf("a settled check failed: %q", got)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestReceiverAnswersInTurnThenByDefaultAndRecords(t *testing.T) {
	r := NewReceiver(t, Statuses(503), Default(Answer{Body: "ok", Header: http.Header{"Server": {"kit"}}}))
	if status, _ := get(t, r.URL+"/pb?cid=a%20b&x=1"); status != 503 {
		t.Fatalf("first answer %d, want 503", status)
	}
	if status, body := get(t, r.URL+"/pb?cid=c"); status != 200 || body != "ok" {
		t.Fatalf("second answer %d %q, want the default", status, body)
	}
	r.AnswerWith(func(q *Request) Answer { return Answer{Status: 502, Body: "for " + q.Query.Get("cid")} })
	if status, body := get(t, r.URL+"/pb?cid=d"); status != 502 || body != "for d" {
		t.Fatalf("answer set at run time: %d %q", status, body)
	}
	first := r.Await(t, 1, time.Second)
	if first.URL != r.URL+"/pb?cid=a%20b&x=1" || first.Method != "GET" || first.Query.Get("cid") != "a b" || first.Answer.Status != 503 {
		t.Fatalf("first request %+v", first)
	}
	if n, c := r.Count(), r.CountQuery("cid", "c"); n != 3 || c != 1 {
		t.Fatalf("%d requests, %d for c; want 3 and 1", n, c)
	}
	if q, ok := r.Find("cid=d"); !ok || q.Answer.Body != "for d" {
		t.Fatalf("find: %+v %v", q, ok)
	}
	if got := failure(t, func(tb testing.TB) { r.Await(tb, 4, 20*time.Millisecond) }); !strings.Contains(got, "request 4 at "+r.URL) || !strings.Contains(got, "3 requests") {
		t.Fatalf("await of a request never sent: %q", got)
	}
}

func TestHeldReceiverAnswersOnRelease(t *testing.T) {
	r := NewReceiver(t, Held())
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(r.URL + "/held")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	r.Await(t, 1, 10*time.Second)
	select {
	case status := <-answered:
		t.Fatalf("a held request was answered %d before the release", status)
	default:
	}
	r.Release()
	if status := Receive(t, "the released answer", 10*time.Second, answered); status != 200 {
		t.Fatalf("released: %d", status)
	}
}

func TestJSONFailsNamingThePath(t *testing.T) {
	body := `{"data":{"conversions":[{"status":"approved","payout":2.5,"n":3,"ok":true,"none":null}]}}`
	conv := JSON(t, body).Get("data", "conversions", 0)
	if conv.Get("status").String() != "approved" || conv.Get("payout").Float() != 2.5 || conv.Get("n").Int() != 3 ||
		!conv.Get("ok").Bool() || !conv.Get("none").IsNull() || conv.Len() != 5 || JSON(t, body).Get("data", "conversions").Len() != 1 {
		t.Fatalf("read %v", conv)
	}
	if _, ok := conv.Lookup("missing"); ok || !conv.Has("none") {
		t.Fatal("Lookup found a missing field, or Has missed a null one")
	}
	if got := fmt.Sprintf("%v", conv.Get("status")); got != `"approved"` {
		t.Fatalf("a value prints as %s, want its JSON", got)
	}
	for _, c := range []struct {
		read func(tb testing.TB)
		want string
	}{
		{func(tb testing.TB) { JSON(tb, body).Get("data", "conversions", 1, "status") }, "JSON data.conversions[1]: missing, in " + body},
		{func(tb testing.TB) { JSON(tb, body).Get("data", "conversion", 0) }, "JSON data.conversion: missing, in " + body},
		{func(tb testing.TB) { JSON(tb, body).Get("data", "conversions", 0, "status").Int() },
			`JSON data.conversions[0].status is a string "approved", want a whole number, in ` + body},
		{func(tb testing.TB) { JSON(tb, body).Get("data", "conversions", "status") },
			"JSON data.conversions.status: not in an object but an array data.conversions, in " + body},
		{func(tb testing.TB) { JSON(tb, "<html>") }, `not JSON (invalid character '<' looking for beginning of value): "<html>"`},
	} {
		if got := failure(t, c.read); got != c.want {
			t.Errorf("failure %q\n want %q", got, c.want)
		}
	}
}

func TestEqualShowsWhatDiffers(t *testing.T) {
	type row struct {
		ID     string
		Clicks int
		note   string
	}
	got := failure(t, func(tb testing.TB) {
		Equal(tb, "the row", row{"a", 1, "x"}, row{"a", 2, "x"})
	})
	var changed []string
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "-") || strings.HasPrefix(line, "+") {
			changed = append(changed, strings.Join(strings.Fields(line), " "))
		}
	}
	if !strings.HasPrefix(got, "the row differs (-want +got):\n") || strings.Join(changed, "|") != "- Clicks: 1,|+ Clicks: 2," {
		t.Fatalf("failure %q: want a diff of the one field that differs", got)
	}
	if got := failure(t, func(tb testing.TB) { Equal(tb, "the row", row{"a", 1, "x"}, row{"a", 1, "x"}) }); got != "" {
		t.Fatalf("equal rows: %q", got)
	}
}
