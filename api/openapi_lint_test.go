package api

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clickrelay/clickrelay/internal/testenv"
)

// TestOpenAPILint runs the third-party linters on api/openapi.json, with
// the repository's rulesets: Redocly CLI (redocly.yaml, its recommended
// rules each an error) and Spectral (.spectral.yaml, spectral:oas, a
// warning a failure). Any problem either reports fails the test, and so
// does a linter that no longer finds a planted one. scripts/test.sh
// installs them (scripts/openapi-lint.sh install, pinned versions);
// scripts/openapi-lint.sh alone prints their full reports.
func TestOpenAPILint(t *testing.T) {
	root := testenv.ModuleRoot(t)
	doc := filepath.Join(root, "api", "openapi.json")

	// A copy with two problems planted: an operation without a
	// description and a component nothing references.
	var spoiled map[string]any
	if err := json.Unmarshal(OpenAPIDocument(), &spoiled); err != nil {
		t.Fatal(err)
	}
	health := spoiled["paths"].(map[string]any)["/health"].(map[string]any)["get"].(map[string]any)
	delete(health, "description")
	responses := spoiled["components"].(map[string]any)["responses"].(map[string]any)
	responses["plantedUnused"] = map[string]any{"description": "Referenced by nothing."}
	body, err := json.Marshal(spoiled)
	if err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(planted, body, 0o644); err != nil {
		t.Fatal(err)
	}

	linters := []struct {
		name  string
		args  []string
		finds string // the rule that reports a planted problem
	}{
		{"redocly", []string{"lint", "--config", filepath.Join(root, "redocly.yaml"), "--format=stylish"}, "no-unused-components"},
		{"spectral", []string{"lint", "--ruleset", filepath.Join(root, ".spectral.yaml"), "--fail-severity=warn"}, "operation-description"},
	}
	for _, l := range linters {
		bin := testenv.NodeTool(t, l.name)
		lint := func(file string) (string, error) {
			cmd := exec.Command(bin, append(l.args, file)...)
			cmd.Dir = root
			// Nothing is sent anywhere: Redocly's telemetry and update
			// check off (redocly.yaml says telemetry: off too).
			cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			if out, err := lint(doc); err != nil {
				t.Errorf("%s finds problems in api/openapi.json (%v):\n%s", l.name, err, out)
			}
		})
		t.Run(l.name+" finds planted problems", func(t *testing.T) {
			t.Parallel()
			out, err := lint(planted)
			if err == nil || !strings.Contains(out, l.finds) {
				t.Errorf("%s passed a document with an operation lacking its description and an unused component, or did not report %s (%v):\n%s", l.name, l.finds, err, out)
			}
		})
	}
}
