package synth

import (
	"encoding/json"
	"strconv"
	"time"
)

// Small builders for FHIR data types, so the story code reads like the resources it makes.

func coding(system, code, display string) obj {
	return o("system", system, "code", code, "display", display)
}

// cc is a CodeableConcept with the given codings and text.
func cc(text string, codings ...obj) obj {
	return o("coding", codings, "text", text)
}

// ident is an Identifier. The generator puts one on every facility resource and repeats it in
// references to them, so TransactionPOST can turn such references into conditional ones.
type ident struct{ system, value string }

func (i ident) obj() obj { return o("system", i.system, "value", i.value) }

// ref is a Reference "Type/id" with an optional display and business identifier.
func ref(typ, id, display string, id2 *ident) obj {
	r := o("reference", typ+"/"+id, "display", display)
	if id2 != nil {
		r = append(r, field{"identifier", id2.obj()})
	}
	return r
}

// decimal writes v with prec digits after the point; FHIR decimals keep their precision.
func decimal(v float64, prec int) json.Number {
	return json.Number(strconv.FormatFloat(v, 'f', prec, 64))
}

// dateTime and instant are written with the hospital's offset, the way its systems send them.
func (g *Generator) dateTime(t time.Time) string {
	return t.In(g.opt.Zone).Format("2006-01-02T15:04:05-07:00")
}

func (g *Generator) date(t time.Time) string { return t.In(g.opt.Zone).Format("2006-01-02") }

func (g *Generator) meta(t time.Time) obj { return o("lastUpdated", g.dateTime(t)) }
