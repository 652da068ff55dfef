package synth

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// facility is the master data the stories refer to.
type facility struct {
	resources []Resource
	org       obj // reference to the hospital Organization
	depts     []deptRefs
}

type deptRefs struct {
	service obj   // Encounter.serviceType
	ward    obj   // reference to the ward Location
	beds    []obj // references to its bed Locations
	doctors []doctor
}

type doctor struct {
	ref   obj
	title string
}

func newFacility(g *Generator) *facility {
	h := g.opt.Hospital
	// Names come from the hospital identifier, not the seed, like the ids.
	f64 := fnv.New64a()
	f64.Write([]byte(h.System + "|" + h.Value))
	r := rand.New(rand.NewPCG(f64.Sum64(), 0x66616369))
	idOf := func(kind string) string { return nameUUID("facility/" + h.System + "|" + h.Value + "/" + kind) }
	at := g.opt.Start.Add(-24 * time.Hour)

	f := &facility{}
	add := func(typ, id string, body obj) {
		f.resources = append(f.resources, Resource{Type: typ, ID: id, Source: HIS, Time: at, JSON: appendJSON(nil, body)})
	}

	orgID := idOf("organization")
	orgIdent := &ident{h.System, h.Value}
	add("Organization", orgID, o(
		"resourceType", "Organization", "id", orgID, "meta", g.meta(at),
		"identifier", []obj{orgIdent.obj()},
		"active", true,
		"type", []obj{cc("医院", coding("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider"))},
		"name", h.Name,
	))
	f.org = ref("Organization", orgID, h.Name, orgIdent)

	staffNo := 0
	for _, d := range g.depts {
		var dr deptRefs
		dr.service = cc(d.Name, coding(DepartmentSystem, d.Code, d.Name))

		wardID := idOf("ward/" + d.Code)
		wardIdent := &ident{LocationSystem, d.Code}
		add("Location", wardID, o(
			"resourceType", "Location", "id", wardID, "meta", g.meta(at),
			"identifier", []obj{wardIdent.obj()},
			"status", "active", "name", d.Ward, "mode", "instance",
			"type", []obj{cc(d.Name, coding(DepartmentSystem, d.Code, d.Name))},
			"physicalType", cc("病区", coding("http://terminology.hl7.org/CodeSystem/location-physical-type", "wa", "Ward")),
			"managingOrganization", f.org,
		))
		dr.ward = ref("Location", wardID, d.Ward, wardIdent)

		for b := 1; b <= d.Beds; b++ {
			bedID := idOf(fmt.Sprintf("bed/%s/%d", d.Code, b))
			bedIdent := &ident{LocationSystem, fmt.Sprintf("%s-%02d", d.Code, b)}
			name := fmt.Sprintf("%s %d床", d.Ward, b)
			add("Location", bedID, o(
				"resourceType", "Location", "id", bedID, "meta", g.meta(at),
				"identifier", []obj{bedIdent.obj()},
				"status", "active", "name", name, "mode", "instance",
				"physicalType", cc("床位", coding("http://terminology.hl7.org/CodeSystem/location-physical-type", "bd", "Bed")),
				"managingOrganization", f.org,
				"partOf", dr.ward,
			))
			dr.beds = append(dr.beds, ref("Location", bedID, name, bedIdent))
		}

		for _, title := range []string{"主任医师", "主治医师", "主治医师", "住院医师"} {
			staffNo++
			male := r.IntN(2) == 0
			name := chineseName(r, male)
			id := idOf(fmt.Sprintf("practitioner/%d", staffNo))
			pi := &ident{StaffSystem, fmt.Sprintf("D%04d", staffNo)}
			add("Practitioner", id, o(
				"resourceType", "Practitioner", "id", id, "meta", g.meta(at),
				"identifier", []obj{pi.obj()},
				"active", true,
				"name", []obj{humanName(name)},
				"gender", gender(male),
				"qualification", []obj{o("code", cc(title))},
			))
			dr.doctors = append(dr.doctors, doctor{ref("Practitioner", id, name[0]+name[1], pi), title})
		}
		f.depts = append(f.depts, dr)
	}
	return f
}

func gender(male bool) string {
	if male {
		return "male"
	}
	return "female"
}

// chineseName returns family name + one or two given characters, e.g. 王建国.
func chineseName(r *rand.Rand, male bool) [2]string {
	chars := femaleChars
	if male {
		chars = maleChars
	}
	given := chars[r.IntN(len(chars))]
	if r.IntN(3) > 0 {
		given += chars[r.IntN(len(chars))]
	}
	return [2]string{surnames[r.IntN(len(surnames))], given}
}

// humanName is a HumanName as Chinese systems send it: text in reading order plus parts.
func humanName(n [2]string) obj {
	return o("use", "official", "text", n[0]+n[1], "family", n[0], "given", []string{n[1]})
}
