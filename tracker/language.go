package tracker

import (
	"bytes"

	"github.com/clickrelay/clickrelay/model"
)

// maxLanguageEntries bounds the Accept-Language entries a click reads: a
// header of thousands costs no more than one of a few.
const maxLanguageEntries = 16

// preferredLanguage is the visitor's preferred language in an
// Accept-Language header (RFC 9110): the entry of the highest weight, the
// first of those equal; "*", entries weighted 0 and malformed ones are
// left out. It reads the bytes in place and does not allocate.
func preferredLanguage(header []byte) model.Lang {
	var best []byte
	bestQ := 0
	for n := 0; len(header) > 0 && n < maxLanguageEntries; n++ {
		var entry []byte
		if i := bytes.IndexByte(header, ','); i >= 0 {
			entry, header = header[:i], header[i+1:]
		} else {
			entry, header = header, nil
		}
		tag, params, _ := bytes.Cut(entry, []byte{';'})
		tag = bytes.TrimSpace(tag)
		if len(tag) == 0 || len(tag) == 1 && tag[0] == '*' {
			continue
		}
		q, ok := weight(params)
		if !ok || q <= bestQ {
			continue
		}
		best, bestQ = tag, q
		if q == 1000 {
			break // none can weigh more; the first of equals wins
		}
	}
	if best == nil {
		return model.Lang{}
	}
	return model.LangOf(best)
}

// weight reads an entry's parameters ("q=0.8", maybe among others) as
// thousandths: 1000 when there is no q.
func weight(params []byte) (int, bool) {
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte{';'})
		p = bytes.TrimSpace(p)
		if len(p) < 2 || p[0]|0x20 != 'q' || p[1] != '=' {
			continue
		}
		return qvalue(bytes.TrimSpace(p[2:]))
	}
	return 1000, true
}

// qvalue reads RFC 9110's weight: 0, 0.d{1,3}, 1 or 1.0{1,3}.
func qvalue(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 5 || v[0] != '0' && v[0] != '1' {
		return 0, false
	}
	q := int(v[0]-'0') * 1000
	if len(v) == 1 {
		return q, true
	}
	if v[1] != '.' {
		return 0, false
	}
	scale := 100
	for _, c := range v[2:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	return q, q <= 1000
}
