package tracker

import (
	"strings"
	"sync"

	"github.com/mileusna/useragent"

	"github.com/clickrelay/clickrelay/model"
)

// agent is what the click path learns from a user agent: what it records
// with the click, and what targeting judges (model.Visit's bits).
type agent struct {
	device  string // mobile, tablet, desktop, bot or unknown
	os      string
	browser string
	bot     bool
	// osVersion is model.OSVersion(major, minor), 0 unknown; the bits are
	// model.DeviceBit, OSBit and BrowserBit.
	osVersion                    uint32
	deviceBit, osBit, browserBit uint32
}

// agentCache classifies user agents. Parsing one costs about 2 µs and a
// dozen allocations, but real traffic repeats a few thousand agents, so the
// click path parses only what it has not seen. The cache is bounded: when
// full it starts afresh, which costs one parse per agent and needs no LRU
// bookkeeping on the hot path.
//
// Each entry also keeps the network's verdict on the agent (its user agent
// block list), for the list's version it was reached under: the list is
// checked once per agent and version, not per click.
type agentCache struct {
	mu      sync.RWMutex
	entries map[string]agentEntry
	max     int
}

type agentEntry struct {
	agent   agent
	version uint64 // of the block list the verdict was reached under
	blocked bool
}

// maxCachedAgentLen keeps pathological agents out of the cache.
const maxCachedAgentLen = 512

func newAgentCache(max int) *agentCache {
	return &agentCache{entries: make(map[string]agentEntry, max), max: max}
}

// classify is ua's agent, and whether controls' user agent block list
// refuses it.
func (c *agentCache) classify(ua []byte, controls *model.TrafficControls) (agent, bool) {
	version := controls.AgentsVersion()
	c.mu.RLock()
	e, ok := c.entries[string(ua)]
	c.mu.RUnlock()
	if ok && e.version == version {
		return e.agent, e.blocked
	}
	if !ok {
		e.agent = classify(string(ua))
	}
	e.version, e.blocked = version, version != 0 && controls.BlocksUserAgent(ua)
	if len(ua) <= maxCachedAgentLen {
		c.mu.Lock()
		if len(c.entries) >= c.max {
			c.entries = make(map[string]agentEntry, c.max)
		}
		c.entries[string(ua)] = e
		c.mu.Unlock()
	}
	return e.agent, e.blocked
}

// botMarkers catch automated clients the parser lets through.
var botMarkers = []string{"headless", "phantomjs", "selenium", "puppeteer", "playwright", "python-requests",
	"python-urllib", "go-http-client", "okhttp", "scrapy", "httpclient", "curl/", "wget/", "libwww", "java/"}

func classify(ua string) agent {
	if strings.TrimSpace(ua) == "" {
		return agent{device: "bot", os: "unknown", browser: "unknown", bot: true,
			osBit: model.OSBit("unknown"), browserBit: model.BrowserBit("other")}
	}
	p := useragent.Parse(ua)
	a := agent{os: normaliseOS(p.OS), browser: p.Name, bot: p.Bot}
	if a.browser == "" {
		a.browser = "unknown"
	}
	lower := strings.ToLower(ua)
	if !a.bot {
		for _, m := range botMarkers {
			if strings.Contains(lower, m) {
				a.bot = true
				break
			}
		}
	}
	a.osVersion = model.OSVersion(p.OSVersionNo.Major, p.OSVersionNo.Minor)
	a.osBit, a.browserBit = model.OSBit(a.os), model.BrowserBit(browserKey(p.Name, lower))
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
	a.deviceBit = model.DeviceBit(a.device)
	return a
}

// browserKey names a browser as targeting does (model.TargetBrowsers):
// "other" for one it does not list.
func browserKey(name, lowerUA string) string {
	switch name {
	case useragent.Chrome:
		if strings.Contains(lowerUA, "ucbrowser") {
			return "uc"
		}
		return "chrome"
	case useragent.Safari, useragent.MobileSafari:
		return "safari"
	case useragent.Firefox:
		return "firefox"
	case useragent.Edge:
		return "edge"
	case useragent.Opera, useragent.OperaMini, useragent.OperaTouch:
		return "opera"
	case useragent.SamsungBrowser:
		return "samsung"
	case useragent.InternetExplorer, useragent.Msie, "Trident":
		return "ie"
	case useragent.Vivaldi:
		return "vivaldi"
	case "YaBrowser", "Yandex":
		return "yandex"
	case "UCBrowser", "UC Browser":
		return "uc"
	case "Miui Browser":
		return "miui"
	case "Huawei Browser":
		return "huawei"
	case "Android browser":
		return "android_browser"
	case useragent.FacebookApp:
		return "facebook"
	case useragent.InstagramApp:
		return "instagram"
	case useragent.TiktokApp:
		return "tiktok"
	}
	return "other"
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
