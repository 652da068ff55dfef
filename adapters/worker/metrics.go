package worker

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	messages *prometheus.CounterVec
	errors   prometheus.Counter
	unparked prometheus.Counter
	unmapped *prometheus.CounterVec
	lag      prometheus.Histogram
	handle   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lujing_worker_messages_total",
			Help: "Messages completed by the worker, by status (processed, failed, parked) and resource type.",
		}, []string{"status", "type"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lujing_worker_errors_total",
			Help: "Worker errors that left a key to be delivered again (store unreachable and the like).",
		}),
		unparked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lujing_worker_unparked_total",
			Help: "Patient keys made ready again because a resource parked messages waited for arrived.",
		}),
		unmapped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lujing_mapping_unmapped_codes_total",
			Help: "Codes no code map knew, by source and code system (GET /api/v1/code-maps/unmapped lists them).",
		}, []string{"source", "system"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lujing_worker_lag_seconds",
			Help:    "Time from storing a message to completing it.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}),
		handle: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lujing_worker_handle_seconds",
			Help:    "Time of one delivery of a patient key: its messages mapped and completed, and the clinical runs after.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.errors, m.unparked, m.unmapped, m.lag, m.handle)
	}
	return m
}
