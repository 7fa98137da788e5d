package console

import (
	"embed"
	"path"
	"strings"
)

// files are the console's page and assets, built into the binary: no
// Node.js, no build step.
//
//go:embed index.html assets
var files embed.FS

// contentTypes by extension, for the assets there are.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
	".png": "image/png",
}

// Index is the single page every hash route lives in.
func Index() []byte {
	b, _ := files.ReadFile("index.html") // embedded: cannot fail
	return b
}

// Asset returns the file assets/name and its content type; ok is false for
// names that are not a plain file of assets/.
func Asset(name string) (body []byte, contentType string, ok bool) {
	if name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return nil, "", false
	}
	ct, known := contentTypes[path.Ext(name)]
	if !known {
		return nil, "", false
	}
	b, err := files.ReadFile("assets/" + name)
	if err != nil {
		return nil, "", false
	}
	return b, ct, true
}

// ContentSecurityPolicy lets the page run only its own scripts and styles,
// talk only to its own origin, and never be framed.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
