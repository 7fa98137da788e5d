package tracker

import (
	"strings"
	"sync"

	"github.com/mileusna/useragent"
)

// agent is what the click path learns from a user agent.
type agent struct {
	device  string // mobile, tablet, desktop, bot or unknown
	os      string
	browser string
	bot     bool
}

// agentCache classifies user agents. Parsing one costs about 2 µs and a
// dozen allocations, but real traffic repeats a few thousand agents, so the
// click path parses only what it has not seen. The cache is bounded: when
// full it starts afresh, which costs one parse per agent and needs no LRU
// bookkeeping on the hot path.
type agentCache struct {
	mu      sync.RWMutex
	entries map[string]agent
	max     int
}

// maxCachedAgentLen keeps pathological agents out of the cache.
const maxCachedAgentLen = 512

func newAgentCache(max int) *agentCache {
	return &agentCache{entries: make(map[string]agent, max), max: max}
}

func (c *agentCache) classify(ua []byte) agent {
	c.mu.RLock()
	a, ok := c.entries[string(ua)]
	c.mu.RUnlock()
	if ok {
		return a
	}
	a = classify(string(ua))
	if len(ua) <= maxCachedAgentLen {
		c.mu.Lock()
		if len(c.entries) >= c.max {
			c.entries = make(map[string]agent, c.max)
		}
		c.entries[string(ua)] = a
		c.mu.Unlock()
	}
	return a
}

// botMarkers catch automated clients the parser lets through.
var botMarkers = []string{"headless", "phantomjs", "selenium", "puppeteer", "playwright", "python-requests",
	"python-urllib", "go-http-client", "okhttp", "scrapy", "httpclient", "curl/", "wget/", "libwww", "java/"}

func classify(ua string) agent {
	if strings.TrimSpace(ua) == "" {
		return agent{device: "bot", os: "unknown", browser: "unknown", bot: true}
	}
	p := useragent.Parse(ua)
	a := agent{os: normaliseOS(p.OS), browser: p.Name, bot: p.Bot}
	if a.browser == "" {
		a.browser = "unknown"
	}
	if !a.bot {
		lower := strings.ToLower(ua)
		for _, m := range botMarkers {
			if strings.Contains(lower, m) {
				a.bot = true
				break
			}
		}
	}
	switch {
	case a.bot:
		a.device = "bot"
	case p.Tablet:
		a.device = "tablet"
	case p.Mobile:
		a.device = "mobile"
	case p.Desktop:
		a.device = "desktop"
	default:
		a.device = "unknown"
	}
	return a
}

func normaliseOS(os string) string {
	switch os {
	case useragent.IOS:
		return "ios"
	case useragent.Android:
		return "android"
	case useragent.Windows, useragent.WindowsPhone:
		return "windows"
	case useragent.MacOS:
		return "macos"
	case useragent.Linux:
		return "linux"
	case useragent.ChromeOS:
		return "chromeos"
	case "":
		return "unknown"
	}
	return strings.ToLower(os)
}
