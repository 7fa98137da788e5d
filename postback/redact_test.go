package postback

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://t.example/pb?token=s3cret&cid=1", "https://t.example/pb?(redacted)"},
		{"https://user:pw@t.example/pb", "https://t.example/pb?(redacted)"},
		{"http://t.example:8080/a/b", "http://t.example:8080/a/b"},
		{"http://t.example/#frag", "http://t.example/?(redacted)"},
		{"not a url", "(unparseable URL)"},
		{"http://[::1", "(unparseable URL)"},
	} {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactErrorHidesTheQuery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/pb?token=s3cret", nil)
	_, err := http.DefaultClient.Do(req)
	if err == nil || !strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("expected the client's error to quote the URL, got %v", err)
	}
	red := redactError(err)
	if strings.Contains(red.Error(), "s3cret") || !strings.Contains(red.Error(), "127.0.0.1:1/pb") {
		t.Fatalf("redacted error = %q", red)
	}
	if !errors.Is(red, context.Canceled) {
		t.Fatalf("the cause is lost: %v", red)
	}
	var ue *url.Error
	if !errors.As(red, &ue) {
		t.Fatal("not a *url.Error any more")
	}
}
