package intake

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/resource"
)

type metrics struct {
	ingest         *prometheus.CounterVec
	publishErrors  prometheus.Counter
	publishSkipped prometheus.Counter
	urgent         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		ingest: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lujing_ingest_resources_total",
			Help: "Resources received, by source system and outcome (created, updated, unchanged, stale, deleted, or rejected_<status>).",
		}, []string{"source", "outcome"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lujing_intake_publish_errors_total",
			Help: "Failed publishes to the queue after storing; the relay republishes from the store.",
		}),
		publishSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lujing_intake_publish_skipped_total",
			Help: "Keys not published because the queue failed moments ago; the relay republishes them.",
		}),
		urgent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lujing_intake_urgent_keys_total",
			Help: "Patient keys sent through the queue's urgent lane: stored results that may be critical values.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.ingest, m.publishErrors, m.publishSkipped, m.urgent)
	}
	return m
}

func (m *metrics) accepted(source string, o store.Outcome) {
	m.ingest.WithLabelValues(source, string(o)).Inc()
}

func (m *metrics) rejected(source string, err error) {
	status := 400
	var re *resource.Error
	if errors.As(err, &re) {
		status = re.Status
	}
	m.ingest.WithLabelValues(source, "rejected_"+strconv.Itoa(status)).Inc()
}
