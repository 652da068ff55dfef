package criticalvalue

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Code systems and identifier systems of the FHIR views. Placeholders under lujing.example
// until the project publishes its own profiles, like the mapping's.
const (
	TaskKindSystem          = "http://lujing.example/fhir/CodeSystem/task-kind"
	StatusSystem            = "http://lujing.example/fhir/CodeSystem/critical-value-status"
	CommunicationKindSystem = "http://lujing.example/fhir/CodeSystem/communication-kind"
	RecordIDSystem          = "http://lujing.example/fhir/sid/critical-value"
	DepartmentSystem        = "http://lujing.example/fhir/CodeSystem/department"
)

type obj = map[string]any

func fhirTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// taskStatus is the FHIR Task.status of a record status.
var taskStatus = map[string]string{
	StatusDetected: "requested", StatusNotified: "received", StatusAcknowledged: "accepted",
	StatusHandled: "completed", StatusClosed: "completed", StatusUnreachable: "failed", StatusRecalled: "cancelled",
}

// Task is the FHIR R4 Task of a record (its Body): the loop, focused on the result, for the
// patient, owned by the responsible department; businessStatus is the record's own status.
func Task(body []byte) ([]byte, error) {
	var b RecordBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("criticalvalue: task: %w", err)
	}
	status, ok := taskStatus[b.Status]
	if !ok {
		return nil, fmt.Errorf("criticalvalue: task: unknown status %q", b.Status)
	}
	t := obj{
		"resourceType": "Task", "id": b.ID,
		"identifier":     []obj{{"system": RecordIDSystem, "value": b.ID}},
		"status":         status,
		"businessStatus": obj{"coding": []obj{{"system": StatusSystem, "code": b.Status}}, "text": b.Status},
		"intent":         "order", "priority": "stat",
		"code":         obj{"coding": []obj{{"system": TaskKindSystem, "code": RecordKind, "display": "危急值"}}, "text": "危急值"},
		"description":  describe(b),
		"focus":        obj{"reference": b.Result},
		"for":          obj{"reference": b.Patient},
		"authoredOn":   fhirTime(b.DetectedAt),
		"lastModified": fhirTime(lastModified(b)),
	}
	period := obj{"start": fhirTime(b.ReleasedAt)}
	if end := firstTime(b.ClosedAt, b.RecalledAt); end != nil {
		period["end"] = fhirTime(*end)
	}
	t["executionPeriod"] = period
	if b.Encounter != "" {
		t["encounter"] = obj{"reference": b.Encounter}
	}
	if owner := department(b); owner != nil {
		t["owner"] = owner
	}
	if b.RecallReason != "" {
		t["statusReason"] = obj{"text": b.RecallReason}
	}
	var outputs []obj
	if b.AcknowledgedAt != nil {
		outputs = append(outputs, obj{"type": obj{"text": "acknowledged"}, "valueString": fmt.Sprintf("%s read back %q at %s", b.Receiver, b.ReadBack, fhirTime(*b.AcknowledgedAt))})
	}
	if b.HandledAt != nil {
		outputs = append(outputs, obj{"type": obj{"text": "handled"}, "valueString": fmt.Sprintf("%s: %s at %s", b.Physician, b.Action, fhirTime(*b.HandledAt))})
	}
	if outputs != nil {
		t["output"] = outputs
	}
	return json.Marshal(t)
}

// Communications are the FHIR R4 Communications of a record: one per delivery, the
// notification and each escalation step, with its recipients, time and the value.
func Communications(body []byte) ([][]byte, error) {
	var b RecordBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("criticalvalue: communications: %w", err)
	}
	var out [][]byte
	for _, ev := range b.Events {
		var id, kind string
		switch ev.Type {
		case "notified":
			id, kind = b.ID+"-notified", "critical-value-notification"
		case "escalated":
			id, kind = fmt.Sprintf("%s-escalated-%d", b.ID, ev.Level), "critical-value-escalation"
		default:
			continue
		}
		c := obj{
			"resourceType": "Communication", "id": id,
			"basedOn":  []obj{{"reference": "Task/" + b.ID}},
			"status":   "completed",
			"category": []obj{{"coding": []obj{{"system": CommunicationKindSystem, "code": kind}}}},
			"priority": "stat",
			"subject":  obj{"reference": b.Patient},
			"about":    []obj{{"reference": b.Result}},
			"sent":     fhirTime(ev.At),
			"payload":  []obj{{"contentString": describe(b) + " — " + ev.Detail}},
		}
		if b.Encounter != "" {
			c["encounter"] = obj{"reference": b.Encounter}
		}
		var recipients []obj
		for _, t := range ev.Target {
			if r := recipient(b, t); r != nil {
				recipients = append(recipients, r)
			}
		}
		if recipients != nil {
			c["recipient"] = recipients
		}
		j, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("criticalvalue: communication: %w", err)
		}
		out = append(out, j)
	}
	return out, nil
}

// describe is the record in one line: "危急值 钾 6.80 mmol/L (interpretation:HH), released …".
func describe(b RecordBody) string {
	return strings.Join(strings.Fields(fmt.Sprintf("危急值 %s %s %s (%s), released %s",
		firstNonEmpty(b.Code.Display, b.Code.Code), b.Value, b.Unit, b.Rule, fhirTime(b.ReleasedAt))), " ")
}

func department(b RecordBody) obj {
	if b.Department == "" {
		return nil
	}
	o := obj{"identifier": obj{"system": firstNonEmpty(b.DepartmentSystem, DepartmentSystem), "value": b.Department}}
	if name := firstNonEmpty(b.Ward, b.DepartmentName); name != "" {
		o["display"] = name
	}
	return o
}

// recipient is a Reference for an escalation target: the department for the ward, else a
// display naming the role and, where the record knows, the person.
func recipient(b RecordBody, target string) obj {
	switch target {
	case TargetWard:
		if d := department(b); d != nil {
			return d
		}
	case TargetAttending:
		if b.Attending != "" {
			return obj{"display": b.Attending}
		}
	case TargetOrderer:
		if b.Orderer != "" {
			return obj{"display": b.Orderer}
		}
	}
	return obj{"display": target}
}

func firstTime(ts ...*time.Time) *time.Time {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}

func lastModified(b RecordBody) time.Time {
	t := b.DetectedAt
	for _, ev := range b.Events {
		if ev.At.After(t) {
			t = ev.At
		}
	}
	return t
}
