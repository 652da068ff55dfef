package hl7v2

import (
	"encoding/base64"
	"strings"
)

// mdm maps an MDM message: the Patient and a DocumentReference of TXA, whose content is the
// OBX text (or encapsulated data) that follows.
func (b *builder) mdm(event string) error {
	switch event {
	case "T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08", "T09", "T10", "T11":
	default:
		return b.unsupportedEvent()
	}
	var txa Segment
	txaSeq := 0
	var text []string
	var attachment obj
	for i, s := range b.m.Segments {
		seq := i + 1
		switch s.Name {
		case "PID":
			if b.patient != "" {
				continue
			}
			if err := b.addPatient(s, seq, false); err != nil {
				return err
			}
		case "PV1":
			b.visitReference(s)
		case "TXA":
			if txaSeq == 0 {
				txa, txaSeq = s, seq
			}
		case "OBX":
			switch strings.ToUpper(strings.TrimSpace(s.Field(2).String())) {
			case "TX", "FT", "ST":
				for _, r := range s.Field(5).Reps() {
					text = append(text, r.d.unescape(r.raw))
				}
			case "ED":
				f := s.Field(5)
				if attachment == nil && strings.EqualFold(strings.TrimSpace(f.C(4)), "Base64") {
					if data := strings.TrimSpace(f.C(5)); data != "" {
						if _, err := base64.StdEncoding.DecodeString(data); err != nil {
							return &Error{Code: CodeDataType, Segment: "OBX", Seq: seq, Field: 5, Msg: "encapsulated data is not valid Base64"}
						}
						attachment = obj{"contentType": mediaType(f.C(2), f.C(3)), "data": data}
					}
				}
			}
		}
	}
	if b.patient == "" {
		return &Error{Code: CodeRequiredMissing, Segment: "PID", Msg: "an MDM message needs a PID segment"}
	}
	if txaSeq == 0 {
		return &Error{Code: CodeRequiredMissing, Segment: "TXA", Msg: "an MDM message needs a TXA segment"}
	}
	typ := b.tableConcept(txa.Field(2), "0270")
	if typ == nil {
		return &Error{Code: CodeRequiredMissing, Segment: "TXA", Seq: txaSeq, Field: 2, Msg: "the document type is required"}
	}
	status := "current"
	if event == "T11" || strings.EqualFold(strings.TrimSpace(txa.Field(17).String()), "CA") {
		status = "entered-in-error"
	} else if event == "T09" || event == "T10" {
		status = "current" // a replacement: the new document is current; RelatesTo names the old
	}
	doc := obj{"status": status, "type": typ, "subject": b.subject()}
	switch strings.ToUpper(strings.TrimSpace(txa.Field(17).String())) {
	case "AU", "LA":
		doc["docStatus"] = "final"
	case "DI", "DO", "IP", "IN", "PA":
		doc["docStatus"] = "preliminary"
	}
	number := strings.TrimSpace(txa.Field(12).C(1))
	if number != "" {
		doc["identifier"] = []any{obj{"system": b.o.DocumentSystem, "value": number}}
	}
	date := b.instant(txa.Field(4))
	if date == "" {
		date = b.instant(txa.Field(6))
	}
	set(doc, "date", date)
	var authors []any
	for _, r := range txa.Field(5).Reps() {
		if p := b.person(r); p != nil {
			authors = append(authors, p)
		}
	}
	set(doc, "author", authors)
	if parent := strings.TrimSpace(txa.Field(13).C(1)); parent != "" && (event == "T09" || event == "T10") {
		doc["relatesTo"] = []any{obj{"code": "replaces", "target": obj{"identifier": obj{"system": b.o.DocumentSystem, "value": parent}}}}
	}
	title := ""
	if cc := typ; cc["text"] != nil {
		title, _ = cc["text"].(string)
	}
	if attachment == nil {
		attachment = obj{"contentType": "text/plain; charset=utf-8"}
		if body := strings.TrimSpace(strings.Join(text, "\n")); body != "" {
			attachment["data"] = base64.StdEncoding.EncodeToString([]byte(body))
		}
	}
	set(attachment, "title", title)
	doc["content"] = []any{obj{"attachment": attachment}}
	ctx := obj{}
	if b.encounter != nil {
		ctx["encounter"] = []any{b.encounter}
	}
	set(doc, "context", ctx)
	set(doc, "description", title)
	key := "document:" + number
	if number == "" {
		key = "message:" + b.m.ControlID()
	}
	b.put("DocumentReference", b.id("document", key), doc)
	return nil
}

// mediaType is an ED's type of data and subtype as a MIME type.
func mediaType(typ, sub string) string {
	typ, sub = strings.ToLower(strings.TrimSpace(typ)), strings.ToLower(strings.TrimSpace(sub))
	switch {
	case typ == "" && sub == "":
		return "application/octet-stream"
	case strings.Contains(typ, "/"):
		return typ
	case sub == "":
		return typ + "/octet-stream"
	case typ == "":
		return "application/" + sub
	}
	return typ + "/" + sub
}
