package pathways

import (
	"fmt"
	"slices"

	"github.com/lujing-health/lujing/mapping"
)

// The facts of a kind, decoded, each with its event: what the cores read.
type (
	Admission struct {
		mapping.Event
		mapping.AdmittedData
	}
	Discharge struct {
		mapping.Event
		mapping.DischargedData
	}
	Transfer struct {
		mapping.Event
		mapping.TransferredData
	}
	Diagnosis struct {
		mapping.Event
		mapping.DiagnosedData
	}
	Operation struct {
		mapping.Event
		mapping.OperatedData
	}
	Document struct {
		mapping.Event
		mapping.DocumentedData
	}
	Order struct {
		mapping.Event
		mapping.OrderedData
	}
	Result struct {
		mapping.Event
		mapping.ResultData
	}
	Adverse struct {
		mapping.Event
		mapping.AdverseEventData
	}
)

// Facts are a patient's facts that hold (Holding), decoded by kind, each list in the order of
// the facts (time, then key).
type Facts struct {
	All        []mapping.Event
	Admissions []Admission
	Discharges []Discharge
	Transfers  []Transfer
	Diagnoses  []Diagnosis
	Operations []Operation
	Documents  []Document
	Orders     []Order
	Results    []Result
	Adverse    []Adverse
	Died       []mapping.Event
}

// DecodeFacts decodes the facts that hold, of the kinds given (all kinds when none are). A
// fact whose Data does not decode is an error: the mapping wrote it, so it is a bug, not bad
// input to skip.
func DecodeFacts(in []mapping.Event, kinds ...string) (*Facts, error) {
	f := &Facts{All: Holding(in)}
	for _, e := range f.All {
		if len(kinds) > 0 && !slices.Contains(kinds, e.Kind) {
			continue
		}
		var err error
		switch e.Kind {
		case mapping.KindAdmitted:
			err = decodeInto(e, &f.Admissions, func(d mapping.AdmittedData) Admission { return Admission{e, d} })
		case mapping.KindDischarged:
			err = decodeInto(e, &f.Discharges, func(d mapping.DischargedData) Discharge { return Discharge{e, d} })
		case mapping.KindTransferred:
			err = decodeInto(e, &f.Transfers, func(d mapping.TransferredData) Transfer { return Transfer{e, d} })
		case mapping.KindDiagnosed:
			err = decodeInto(e, &f.Diagnoses, func(d mapping.DiagnosedData) Diagnosis { return Diagnosis{e, d} })
		case mapping.KindOperated:
			err = decodeInto(e, &f.Operations, func(d mapping.OperatedData) Operation { return Operation{e, d} })
		case mapping.KindDocumented:
			err = decodeInto(e, &f.Documents, func(d mapping.DocumentedData) Document { return Document{e, d} })
		case mapping.KindOrdered:
			err = decodeInto(e, &f.Orders, func(d mapping.OrderedData) Order { return Order{e, d} })
		case mapping.KindResult:
			err = decodeInto(e, &f.Results, func(d mapping.ResultData) Result { return Result{e, d} })
		case mapping.KindAdverseEvent:
			err = decodeInto(e, &f.Adverse, func(d mapping.AdverseEventData) Adverse { return Adverse{e, d} })
		case mapping.KindDied:
			f.Died = append(f.Died, e)
		}
		if err != nil {
			return nil, fmt.Errorf("fact %s: %w", e.Key, err)
		}
	}
	return f, nil
}

func decodeInto[D, T any](e mapping.Event, list *[]T, wrap func(D) T) error {
	var d D
	if err := Decode(e.Data, &d); err != nil {
		return err
	}
	*list = append(*list, wrap(d))
	return nil
}
