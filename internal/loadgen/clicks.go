package loadgen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/phuslu/iploc"

	"github.com/clickrelay/clickrelay/model"
)

// LinkClicks are the clicks the bench's wrk script makes (bench/wrk.go),
// numbers first to first+n-1, as the tracker records them: every sub-ID,
// agent and address follows the request's number, and sub4 is the number
// itself (an affiliate passing its own click ID in a sub), so any rollup
// keyed by sub4 holds a row per click. Their times step by 1/rate s from
// at. The country is the address's, as the tracker looks it up; device and
// OS follow the user agent.
func LinkClicks(first, n int, at time.Time, rate float64, offers, affiliates []string) []model.Click {
	clicks := make([]model.Click, n)
	for i := range clicks {
		k := first + i
		agent := UserAgents[k%len(UserAgents)]
		ip := fmt.Sprintf("%d.%d.%d.%d", 20+k%180, k*7%256, k*13%256, 1+k%250)
		device, os := agentDevice(agent)
		country := ""
		if addr, err := netip.ParseAddr(ip); err == nil {
			country = iploc.IPCountry(addr)
		}
		offer := offers[k%len(offers)]
		clicks[i] = model.Click{
			ID:          "link" + strconv.Itoa(k),
			Time:        at.Add(time.Duration(float64(i) * float64(time.Second) / rate)).UnixMilli(),
			OfferID:     offer,
			AffiliateID: affiliates[k%len(affiliates)],
			// The bench's offers belong to one advertiser each.
			AdvertiserID: "adv-" + offer,
			Subs: [5]string{"c" + strconv.Itoa(k%97), "adset-" + strconv.Itoa(k%13), "ad-" + strconv.Itoa(k%251),
				strconv.Itoa(k), "pl" + strconv.Itoa(k%7)},
			AffClickID: "ext" + strconv.Itoa(k),
			IP:         ip, UserAgent: agent, Country: country, Device: device, OS: os,
			Unique: k%3 != 0,
		}
	}
	return clicks
}

// agentDevice is a user agent's device and operating system, as coarsely
// as a rollup needs them: one pair per agent, as the tracker's classifier
// gives, which this package cannot import (the tracker's tests build on
// packages whose tests use this one).
func agentDevice(agent string) (device, os string) {
	switch {
	case strings.Contains(agent, "iPhone"):
		return "mobile", "ios"
	case strings.Contains(agent, "iPad"):
		return "tablet", "ios"
	case strings.Contains(agent, "Android"):
		return "mobile", "android"
	case strings.Contains(agent, "Mac OS X"):
		return "desktop", "macos"
	case strings.Contains(agent, "Windows"):
		return "desktop", "windows"
	}
	return "desktop", "linux"
}

// CampaignClicks are clicks shaped like bench/consoleday's day: skewed
// affiliates, each with its own campaign tree of sub-IDs that repeat over
// thousands of clicks, spread over two minutes from at.
func CampaignClicks(n int, at time.Time) []model.Click {
	r := rand.New(rand.NewPCG(1, 2))
	countries := []string{"US", "US", "US", "GB", "DE", "FR", "BR", "IN", "IN", "CA", "AU", "ES", "MX", "JP", "ID"}
	devices := []string{"mobile", "mobile", "mobile", "desktop", "tablet"}
	oses := map[string][]string{"mobile": {"ios", "android"}, "tablet": {"ios", "android"}, "desktop": {"windows", "macos", "linux"}}
	skewed := func(k int) int { u := r.Float64(); return int(u * u * u * float64(k)) }
	clicks := make([]model.Click, n)
	for i := range clicks {
		aff := int(r.Float64() * r.Float64() * 400)
		campaign := skewed(5)
		offer := (aff*37 + campaign*53) % 300
		device := devices[r.IntN(len(devices))]
		sub1 := fmt.Sprintf("cmp%d-%d", aff, campaign)
		sub2 := fmt.Sprintf("%s-as%d", sub1, skewed(4))
		clicks[i] = model.Click{
			ID:      fmt.Sprintf("day%08d", i),
			Time:    at.Add(time.Duration(r.IntN(120_000)) * time.Millisecond).UnixMilli(),
			OfferID: fmt.Sprint(1000 + offer), AffiliateID: fmt.Sprint(5000 + aff), AdvertiserID: fmt.Sprint(100 + offer%40),
			Country: countries[r.IntN(len(countries))], Device: device, OS: oses[device][r.IntN(len(oses[device]))],
			Subs:   [5]string{sub1, sub2, fmt.Sprintf("%s-cr%d", sub2, skewed(3))},
			Unique: r.IntN(10) < 7,
		}
	}
	return clicks
}
