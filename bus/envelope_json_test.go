package bus

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The forwarder's envelope encoding writes what json.Marshal writes, but for Data, which it
// keeps as the log holds it.
func TestEnvelopeMarshalCompactlessIsWhatMarshalWrites(t *testing.T) {
	cause, corr := uuid.New(), uuid.New()
	for _, tc := range []EventEnvelope{
		{ID: uuid.New(), Position: "812:40", GlobalPosition: 40, Stream: "action-a1", Version: 1, Type: "action.proposed",
			SchemaVersion: 1, RecordedAt: time.Date(2026, 12, 3, 12, 0, 0, 123456789, time.UTC), CausationID: &cause, CorrelationID: &corr,
			Data: json.RawMessage(`{"action": {"id": "a1", "fields": {"text": "hi <b>&</b>"}}}`)},
		{ID: uuid.New(), Stream: "action-" + "quote\" back\\ nl\n tab\t ctl\x01\x1f del\x7f <>& \u2028\u2029 é 日本 bad\xff\xfe end",
			Type: "t", RecordedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Data: json.RawMessage(`[1, 2.50, "x"]`)},
		{ID: uuid.Nil, RecordedAt: time.Date(2026, 1, 2, 3, 4, 5, 1000, time.FixedZone("", 3600)).UTC()},
	} {
		want, err := json.Marshal(tc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tc.MarshalCompactless()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(got) {
			t.Fatalf("not JSON: %s", got)
		}
		// json.Marshal compacts a RawMessage and escapes HTML in it.
		var compact, escaped bytes.Buffer
		if err := json.Compact(&compact, got); err != nil {
			t.Fatal(err)
		}
		json.HTMLEscape(&escaped, compact.Bytes())
		if escaped.String() != string(want) {
			t.Errorf("MarshalCompactless, compacted:\n%s\njson.Marshal:\n%s", escaped.String(), want)
		}
	}
}
