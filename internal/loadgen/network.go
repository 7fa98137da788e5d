package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Network is what a load run sets up: one advertiser's offers and
// affiliates whose postbacks go to a receiver.
type Network struct {
	AdvertiserID  string
	AdvertiserKey string
	Offers        []string
	Affiliates    []string
	AffiliateKeys []string
}

var apiClient = &http.Client{Timeout: 30 * time.Second}

// StatusError is an answer of the API other than a success.
type StatusError struct {
	Method, Path string
	Code         int
	Body         []byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Code, e.Body)
}

// API calls clickrelay's JSON API at base and decodes the answer into out.
func API(base, method, path string, headers map[string]string, body any, out any) error {
	var reader io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, reader)
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return &StatusError{Method: method, Path: path, Code: resp.StatusCode, Body: raw}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// SetUp creates, through the admin API at base, an advertiser with offers
// and affiliates, each affiliate with a postback to postbackURL + "/pb"
// naming the click, payout, txid and sub1.
func SetUp(base, adminKey string, offers, affiliates int, postbackURL string) (Network, error) {
	admin := map[string]string{"Authorization": "Bearer " + adminKey}
	var n Network
	type keyed struct {
		ID     string `json:"id"`
		APIKey string `json:"api_key"`
	}
	var adv struct {
		Advertiser keyed `json:"advertiser"`
	}
	if err := API(base, "POST", "/v2/advertisers", admin, map[string]any{"name": "Load Advertiser"}, &adv); err != nil {
		return n, err
	}
	n.AdvertiserID, n.AdvertiserKey = adv.Advertiser.ID, adv.Advertiser.APIKey
	for i := range offers {
		var o struct {
			Offer struct {
				ID string `json:"id"`
			} `json:"offer"`
		}
		err := API(base, "POST", "/v2/offers", admin, map[string]any{
			"name": fmt.Sprintf("Load offer %d", i), "advertiser_id": adv.Advertiser.ID, "payout": 2.5, "payout_type": "cpa",
			"tracking_url": "https://shop.example.com/landing?cid={click_id}&aff={aff_id}&s1={sub1}&s2={sub2}&geo={geo}",
		}, &o)
		if err != nil {
			return n, err
		}
		n.Offers = append(n.Offers, o.Offer.ID)
	}
	for i := range affiliates {
		id, key, err := AffiliateWithPostback(base, adminKey, fmt.Sprintf("Load affiliate %d", i),
			postbackURL+"/pb?cid={click_id}&payout={payout}&tx={txid}&s1={sub1}")
		if err != nil {
			return n, err
		}
		n.Affiliates = append(n.Affiliates, id)
		n.AffiliateKeys = append(n.AffiliateKeys, key)
	}
	return n, nil
}

// AffiliateWithPostback creates, through the admin API at base, a premium
// affiliate named name with a postback to postbackURL, and returns its ID
// and API key.
func AffiliateWithPostback(base, adminKey, name, postbackURL string) (id, key string, err error) {
	var a struct {
		Affiliate struct {
			ID     string `json:"id"`
			APIKey string `json:"api_key"`
		} `json:"affiliate"`
	}
	admin := map[string]string{"Authorization": "Bearer " + adminKey}
	if err := API(base, "POST", "/v2/affiliates", admin, map[string]any{"name": name, "tier": "premium"}, &a); err != nil {
		return "", "", err
	}
	err = API(base, "POST", "/v1/postbacks", map[string]string{"Authorization": "Bearer " + a.Affiliate.APIKey},
		map[string]any{"url": postbackURL}, nil)
	return a.Affiliate.ID, a.Affiliate.APIKey, err
}
