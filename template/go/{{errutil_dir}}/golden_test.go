package errutil

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// The golden cases are shared with the Python errutil (template/shared/
// crash-contract.json, rendered into testdata/): the same input must give the
// same text, JSON and fingerprint in both languages, and the same redaction.

type contractFrame struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Function string `json:"function"`
	Library  bool   `json:"library"`
}

type contractError struct {
	Type    string            `json:"type"`
	Message string            `json:"message"`
	Frames  []contractFrame   `json:"frames"`
	Hidden  int               `json:"hidden"`
	Cause   *contractError    `json:"cause"`
	Leaves  []json.RawMessage `json:"leaves"`
}

type contractCase struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Input    struct {
		contractError
		Origin string    `json:"origin"`
		HTTP   *HTTPInfo `json:"http"`
	} `json:"input"`
	Expect struct {
		Text        string         `json:"text"`
		JSON        map[string]any `json:"json"`
		Fingerprint string         `json:"fingerprint"`
	} `json:"expect"`
}

type contract struct {
	Version   int            `json:"version"`
	Cases     []contractCase `json:"cases"`
	Redaction []struct {
		In  string `json:"in"`
		Out string `json:"out"`
	} `json:"redaction"`
}

func readContract(t *testing.T) contract {
	t.Helper()
	b, err := os.ReadFile("testdata/crash-contract.json")
	if err != nil {
		t.Fatal(err)
	}
	var c contract
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 || len(c.Cases) == 0 || len(c.Redaction) == 0 {
		t.Fatalf("contract version %d with %d cases, %d redaction pairs", c.Version, len(c.Cases), len(c.Redaction))
	}
	return c
}

func contractFrames(in []contractFrame) []Frame {
	out := make([]Frame, 0, len(in))
	for _, f := range in {
		out = append(out, Frame{File: f.File, Line: f.Line, Function: f.Function, Library: f.Library})
	}
	return out
}

// reportFrom builds a report from a case's input the way Capture finishes
// one (seal: redaction, fingerprint), without capturing a real panic.
func reportFrom(t *testing.T, tc *contractCase) *Report {
	t.Helper()
	in := &tc.Input
	r := &Report{
		Event: EventCrash, Level: "error", Origin: in.Origin, HTTP: in.HTTP,
		Error: ErrorInfo{Type: in.Type, Message: in.Message},
		Stack: contractFrames(in.Frames), StackHidden: in.Hidden,
	}
	tail := &r.Cause
	for c := in.Cause; c != nil; c = c.Cause {
		*tail = &Cause{Error: ErrorInfo{Type: c.Type, Message: c.Message}, Stack: contractFrames(c.Frames), StackHidden: c.Hidden}
		tail = &(*tail).Cause
	}
	if len(in.Leaves) > 0 {
		t.Fatalf("case %s: Go has no ExceptionGroup leaves; mark the case \"language\": \"python\"", tc.Name)
	}
	r.ErrorID.fill()
	r.seal(defaultRedactor)
	return r
}

func TestGoldenCases(t *testing.T) {
	ran := 0
	for _, tc := range readContract(t).Cases {
		if tc.Language != "both" && tc.Language != "go" {
			continue
		}
		ran++
		t.Run(tc.Name, func(t *testing.T) {
			r := reportFrom(t, &tc)
			if want := strings.ReplaceAll(tc.Expect.Text, "<ID>", r.ErrorIDString()); r.Text() != want {
				t.Errorf("text:\n%s\nwant:\n%s", r.Text(), want)
			}
			if r.FingerprintString() != tc.Expect.Fingerprint {
				t.Errorf("fingerprint %s, want %s", r.FingerprintString(), tc.Expect.Fingerprint)
			}
			b, err := r.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got["error_id"] != r.ErrorIDString() {
				t.Errorf("error_id %v, want %s", got["error_id"], r.ErrorIDString())
			}
			delete(got, "error_id")
			// exception.* repeat the error in OpenTelemetry's names, with the
			// stack in each runtime's own traceback format (exception_test.go):
			// the contract compares the shared fields.
			if got["exception.type"] != r.Error.Type || got["exception.message"] != r.Error.Message ||
				got["exception.stacktrace"] != r.ExceptionStacktrace() {
				t.Errorf("exception.*: %s", b)
			}
			want := map[string]any{}
			for k, v := range tc.Expect.JSON {
				want[k] = v
			}
			for _, k := range []string{KeyExceptionType, KeyExceptionMessage, KeyExceptionStacktrace} {
				delete(got, k)
				delete(want, k)
			}
			if !reflect.DeepEqual(got, want) {
				wantJSON, _ := json.Marshal(want)
				t.Errorf("json:\n%s\nwant:\n%s", b, wantJSON)
			}
		})
	}
	if ran < 5 {
		t.Fatalf("only %d cases for Go", ran)
	}
}

func TestGoldenRedaction(t *testing.T) {
	for _, pair := range readContract(t).Redaction {
		if got := defaultRedactor.apply(pair.In); got != pair.Out {
			t.Errorf("redact(%q)\n got %q\nwant %q", pair.In, got, pair.Out)
		}
	}
}
