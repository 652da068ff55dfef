package webui

import (
	"net/http"
	"sort"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

// Kinds of configuration documents the console lists and uploads.
const (
	docCodeMap = "code-map"
	docPathway = "pathway"
)

type countRow struct {
	Source string
	ByStat map[store.Status]int64
	Total  int64
}

type consoleView struct {
	Statuses []store.Status
	Counts   []countRow
	Failed   []store.Message
	Tokens   []store.Token
	Users    []account.User
	CodeMaps []store.Document
	Pathways []store.Document
}

// console is the integration console for admins: message counts per source and status,
// failed messages with their error and a replay button, tokens and accounts, the loaded
// configuration and its upload.
func (u *UI) console(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	st := u.cfg.Store
	counts, err := st.Counts(ctx)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	view := consoleView{Statuses: []store.Status{store.StatusReceived, store.StatusProcessed, store.StatusParked, store.StatusFailed}}
	bySource := map[string]*countRow{}
	for _, c := range counts {
		row, ok := bySource[c.Source]
		if !ok {
			row = &countRow{Source: c.Source, ByStat: map[store.Status]int64{}}
			bySource[c.Source] = row
		}
		row.ByStat[c.Status] += c.N
		row.Total += c.N
	}
	for _, row := range bySource {
		view.Counts = append(view.Counts, *row)
	}
	sort.Slice(view.Counts, func(i, j int) bool { return view.Counts[i].Source < view.Counts[j].Source })
	if view.Failed, err = st.Messages(ctx, store.MessageFilter{Status: store.StatusFailed, Limit: 50}); err != nil {
		u.fail(w, r, v, err)
		return
	}
	for i := range view.Failed {
		view.Failed[i].Body = nil // the console shows the error, not the patient data in the body
	}
	if view.Tokens, err = st.Tokens(ctx); err != nil {
		u.fail(w, r, v, err)
		return
	}
	if view.Users, err = st.Users(ctx); err != nil {
		u.fail(w, r, v, err)
		return
	}
	if view.CodeMaps, err = st.Documents(ctx, docCodeMap); err != nil {
		u.fail(w, r, v, err)
		return
	}
	if view.Pathways, err = st.Documents(ctx, docPathway); err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, http.StatusOK, "console", u.view(r, v, "console.title", view))
}
