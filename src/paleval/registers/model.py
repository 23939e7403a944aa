"""The register model: every register paleval reads, as delivered on the research servers.

Names follow Statistics Denmark's (DST) variable lists and the Danish Health Data Authority's
(SDS) documentation; the sources are in each register's ``doc_url`` and summarised in
``docs/register_research_notes.md``. Where no public documentation of the research extract
exists (DPD, GP listing, terminal reimbursement), the names are paleval's own and the register's
``notes`` say so: map the real extract's names onto them when loading (issue: loaders).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from paleval.registers.schema import Register, Variable

__all__ = [
    "CODE_LISTS",
    "DATE_FLOOR",
    "EARLIEST_DATES",
    "MAX_AGE_AT_DEATH",
    "NOT_BOUNDED_BY_EXTRACT",
    "OPEN_END_DATES",
    "REGISTERS",
    "SAS_ZERO",
    "SENTINEL_DATES",
    "SENTINEL_FROM_YEAR",
    "register_keys",
]

S, D, INT, F = pl.String, pl.Date, pl.Int64, pl.Float64

DST_VARS = "https://www.dst.dk/extranet/ForskningVariabellister/"
RG = "https://github.com/steno-aarhus/registers-guide (schema/registers)"

_PNR = Variable("PNR", S, "Pseudonymised person number (10 characters)", nullable=False)

REGION_BEF = {
    "81": "Region Nordjylland",
    "82": "Region Midtjylland",
    "83": "Region Syddanmark",
    "84": "Region Hovedstaden",
    "85": "Region Sjælland",
}
REGION_SDS = {"10" + k: v for k, v in REGION_BEF.items()}

BEF = Register(
    key="bef",
    title="Population (BEF, Befolkningen)",
    source="Statistics Denmark (CPR-based), December status",
    file_stem="bef{year}12",
    yearly=True,
    primary_key=("PNR",),
    doc_url=DST_VARS + "BEF%20-%20Befolkningen.html",
    notes=(
        "One file per year with everybody resident on 31 December (REFERENCETID). BEF is "
        "quarterly since 2008; paleval uses the December status. A person who dies in year y is "
        "last present in the file for y-1. Synthetic data: a closed cohort resident on 1 January "
        "of the start year (no births, immigration or emigration); FAMILIE_ID is per person."
    ),
    variables=(
        _PNR,
        Variable("KOEN", INT, "Sex", codes={"1": "male", "2": "female"}, nullable=False),
        Variable("FOED_DAG", D, "Date of birth", nullable=False),
        Variable(
            "KOM",
            S,
            "Municipality of residence (3-digit code, 2007 structure)",
            classification="DST KOMMUNER (paleval code list 'municipalities')",
        ),
        Variable("REG", S, "Region of residence (DST codes 81-85)", codes=REGION_BEF),
        Variable(
            "CIVST",
            S,
            "Civil status",
            codes={
                "U": "unmarried",
                "G": "married/separated",
                "F": "divorced",
                "E": "widowed",
                "P": "registered partnership",
                "O": "dissolved partnership",
                "L": "surviving partner",
                "D": "dead",
                "9": "unknown",
            },
        ),
        Variable("FAMILIE_ID", S, "Family identifier (joins FAIK of the same year)"),
        Variable(
            "FAMILIE_TYPE",
            INT,
            "Family type",
            codes={
                "1": "married couple",
                "2": "registered partnership",
                "3": "cohabiting couple",
                "4": "cohabiting couple (other)",
                "5": "single (until 2015)",
                "7": "married couple, different sex",
                "8": "married couple, same sex",
                "9": "single",
                "10": "child not living at home",
            },
        ),
        Variable("ANTPERSF", INT, "Number of persons in the family"),
        Variable(
            "IE_TYPE",
            INT,
            "Origin",
            codes={"1": "Danish origin", "2": "immigrant", "3": "descendant", "9": "unknown"},
        ),
        Variable("OPR_LAND", INT, "Country of origin (DST country code; 5100 Denmark)"),
        Variable("REFERENCETID", D, "Reference date of the status"),
    ),
)

DOD = Register(
    key="dod",
    title="Deaths (DOD)",
    source="Statistics Denmark (CPR)",
    file_stem="dod",
    yearly=False,
    primary_key=("PNR",),
    doc_url=DST_VARS + "DOD%20-%20D%C3%B8de%20i%20Danmark.html",
    variables=(_PNR, Variable("DODDATO", D, "Date of death", nullable=False)),
)

VNDS = Register(
    key="vnds",
    title="Migrations (VNDS, Vandringer: immigrations to and emigrations from Denmark)",
    source="Statistics Denmark (CPR)",
    file_stem="vnds",
    yearly=False,
    primary_key=("PNR", "HAEND_DATO", "INDUD_KODE"),
    doc_url=DST_VARS + "VNDS%20-%20Historiske%20vandringer.html; " + RG,
    notes=(
        "One row per migration event; persons who never migrated have no rows (absence is the "
        "normal case). Variable names and the I/U codes as in DST's variable list for VNDS "
        "(also steno-aarhus/registers-guide schema/registers/vnds.yaml). CPR's migration data are "
        "complete from 1971 only. DST closed VNDS in 2026 and split it into VNDS_HIST (1973-2004), "
        "VNDS_IND and VNDS_UD (2005-), because VNDS contains duplicates from its different "
        "sources. Emigrants are not in BEF's year-end status while abroad and have no events in "
        "Danish registers then: follow-up is censored at emigration (INDUD_KODE 'U')."
    ),
    variables=(
        _PNR,
        Variable(
            "INDUD_KODE",
            S,
            "Immigration or emigration",
            codes={"I": "immigration (indvandring)", "U": "emigration (udvandring)"},
            nullable=False,
        ),
        Variable("HAEND_DATO", D, "Date of the migration event", nullable=False),
        Variable(
            "INDUD_LAND",
            S,
            "Country migrated from or to (DST country code; the code set is not public: "
            "paleval's synthetic codes)",
        ),
    ),
)

DODSAASG = Register(
    key="dodsaasg",
    title="Cause of death register (DODSAASG, Dødsårsagsregisteret 2002-)",
    source="Danish Health Data Authority (SDS) via Statistics Denmark",
    file_stem="dodsaasg",
    yearly=False,
    primary_key=("PNR",),
    doc_url=DST_VARS + "DODSAASG; SDS Kodeark DAR (esundhed.dk)",
    notes=(
        "ICD-10 codes are stored WITHOUT the 'D' prefix of SKS (e.g. C349). C_DODSSTED is the "
        "coarse place of death on the certificate (hospital and hospice share code 0 from 2007; "
        "nursing homes are the residents' home address, code 1). C_PRAECIS_DODSSTED holds the "
        "detailed place; its real code values are not publicly documented, so paleval maps it "
        "through the editable code list 'place_of_death' (synthetic codes, see there)."
    ),
    variables=(
        _PNR,
        Variable("D_DODSDATO", D, "Date of death", nullable=False),
        Variable(
            "C_DODTILGRUNDL_ACME",
            S,
            "Underlying cause of death (ACME)",
            classification="ICD-10 (no D prefix)",
        ),
        Variable("C_DOD_1A", S, "Certificate part I, line a", classification="ICD-10"),
        Variable("C_DOD_1B", S, "Certificate part I, line b", classification="ICD-10"),
        Variable("C_DOD_1C", S, "Certificate part I, line c", classification="ICD-10"),
        Variable("C_DOD_21", S, "Contributing cause (part II), 1st", classification="ICD-10"),
        Variable("C_DOD_22", S, "Contributing cause (part II), 2nd", classification="ICD-10"),
        Variable(
            "C_DODSMAADE",
            S,
            "Manner of death",
            codes={
                "0": "accident",
                "1": "violence",
                "2": "suicide",
                "4": "unknown",
                "5": "natural death",
            },
        ),
        Variable(
            "C_DODSSTED",
            S,
            "Place of death (coarse)",
            codes={
                "-1": "not chosen (found dead)",
                "0": "hospital or hospice",
                "1": "home address",
                "2": "other known address",
                "3": "place without address",
            },
        ),
        Variable(
            "C_PRAECIS_DODSSTED",
            S,
            "Place of death (detailed; synthetic code values)",
            classification="paleval code list 'place_of_death'",
        ),
    ),
)

_LPR2_NOTE = (
    "LPR2 in Statistics Denmark's native format (LPR_ADM/LPR_DIAG joined by RECNUM), one file "
    "per year of admission. Until 2013 emergency-room contacts have C_PATTYPE 3, afterwards "
    "C_PATTYPE 2 with C_INDM 1. Diagnosis codes are SKS: ICD-10 with the 'D' prefix."
)

LPR_ADM = Register(
    key="lpr_adm",
    title="National Patient Register, LPR2 admissions (LPR_ADM)",
    source="SDS via Statistics Denmark",
    file_stem="lpr_adm{year}",
    yearly=True,
    primary_key=("RECNUM",),
    doc_url=DST_VARS
    + "LPR_ADM%20-%20Landspatientregistret%20-%20administrative%20oplysninger.html",
    notes=_LPR2_NOTE,
    variables=(
        _PNR,
        Variable("RECNUM", S, "Record number (key to LPR_DIAG)", nullable=False),
        Variable("C_SGH", S, "Hospital code (4 characters)"),
        Variable("C_AFD", S, "Department code (3 characters)"),
        Variable("C_SPEC", S, "Specialty of the department (2 characters)"),
        Variable(
            "C_PATTYPE",
            S,
            "Patient type",
            codes={"0": "inpatient", "1": "day patient", "2": "outpatient", "3": "emergency room"},
        ),
        Variable(
            "C_INDM", S, "Mode of admission", codes={"1": "acute", "2": "non-acute", "9": "unknown"}
        ),
        Variable("D_INDDTO", D, "Date of admission / first contact", nullable=False),
        Variable("D_UDDTO", D, "Date of discharge / last contact"),
        Variable("V_SENGDAGE", INT, "Bed days"),
        Variable("C_ADIAG", S, "Action diagnosis", classification="SKS (ICD-10 with D)"),
    ),
)

LPR_DIAG = Register(
    key="lpr_diag",
    title="National Patient Register, LPR2 diagnoses (LPR_DIAG)",
    source="SDS via Statistics Denmark",
    file_stem="lpr_diag{year}",
    yearly=True,
    doc_url=DST_VARS + "LPR_DIAG",
    notes=_LPR2_NOTE,
    variables=(
        Variable("RECNUM", S, "Record number (key to LPR_ADM)", nullable=False),
        Variable(
            "C_DIAG", S, "Diagnosis code", classification="SKS (ICD-10 with D)", nullable=False
        ),
        Variable(
            "C_DIAGTYPE",
            S,
            "Diagnosis type",
            codes={
                "A": "action diagnosis",
                "B": "secondary diagnosis",
                "G": "underlying disease",
                "H": "referral diagnosis",
                "C": "complication",
                "+": "supplementary code",
            },
        ),
        Variable("C_TILDIAG", S, "Supplementary code"),
    ),
)

_LPR3_NOTE = (
    "LPR3 (from February 2019) in the LPR_F research format of SDS: contacts and diagnoses "
    "joined by DW_EK_KONTAKT; column case is mixed as delivered. There is no patient type: an "
    "inpatient stay is a contact spanning midnight. Hospital-based specialised palliative care "
    "is identified by hovedspeciale_ans 'palliativ medicin'. One file per year of contact start "
    "(a paleval convention; the real delivery is one table)."
)

LPR_F_KONTAKTER = Register(
    key="lpr_f_kontakter",
    title="National Patient Register, LPR3 contacts (LPR_F kontakter)",
    source="SDS (LPR3_F) via Statistics Denmark",
    file_stem="lpr_f_kontakter{year}",
    yearly=True,
    primary_key=("DW_EK_KONTAKT",),
    doc_url="https://sundhedsdatastyrelsen.dk/media/16364/Vejledning%20til%20LPR3_F.pdf",
    notes=_LPR3_NOTE,
    variables=(
        _PNR,
        Variable("DW_EK_KONTAKT", S, "Contact key", nullable=False),
        Variable("DW_EK_FORLOEB", S, "Course-of-care key"),
        Variable("SORENHED_ANS", S, "Responsible unit (SOR code)"),
        Variable("hovedspeciale_ans", S, "Main specialty of the responsible unit (text)"),
        Variable("dato_start", D, "Start date", nullable=False),
        Variable("tidspunkt_start", S, "Start time (HH:MM:SS)"),
        Variable("dato_slut", D, "End date"),
        Variable("tidspunkt_slut", S, "End time (HH:MM:SS)"),
        Variable(
            "kontakttype",
            S,
            "Contact type (SKS)",
            codes={
                "ALCA00": "physical attendance",
                "ALCA10": "home visit by staff",
                "ALCA20": "virtual",
            },
        ),
        Variable("prioritet", S, "Priority (SKS)", codes={"ATA1": "acute", "ATA3": "planned"}),
        Variable("aktionsdiagnose", S, "Action diagnosis", classification="SKS (ICD-10 with D)"),
    ),
)

LPR_F_DIAGNOSER = Register(
    key="lpr_f_diagnoser",
    title="National Patient Register, LPR3 diagnoses (LPR_F diagnoser)",
    source="SDS (LPR3_F) via Statistics Denmark",
    file_stem="lpr_f_diagnoser{year}",
    yearly=True,
    doc_url="https://sundhedsdatastyrelsen.dk/media/16364/Vejledning%20til%20LPR3_F.pdf",
    notes=_LPR3_NOTE,
    variables=(
        Variable("DW_EK_KONTAKT", S, "Contact key", nullable=False),
        Variable(
            "diagnosekode",
            S,
            "Diagnosis code",
            classification="SKS (ICD-10 with D)",
            nullable=False,
        ),
        Variable(
            "diagnosetype",
            S,
            "Diagnosis type",
            codes={"A": "action diagnosis", "B": "secondary diagnosis"},
        ),
        Variable("senere_afkraeftet", S, "Later refuted", codes={"Ja": "yes", "Nej": "no"}),
    ),
)

SOR = Register(
    key="sor",
    title="Hospital departments (SOR/SHAK classification extract)",
    source="SDS classifications (SOR, SHAK); synthetic departments",
    file_stem="sor",
    yearly=False,
    primary_key=("SORENHED",),
    doc_url="https://sundhedsdatastyrelsen.dk (SOR - Sundhedsvæsenets Organisationsregister)",
    notes=(
        "Links LPR2 department codes (C_SGH+C_AFD) and LPR3 SOR units to a region, a specialty "
        "and whether the unit is a specialised palliative care (SPC) team/unit. The synthetic "
        "departments and their codes are invented; real users export the SOR/SHAK tables."
    ),
    variables=(
        Variable("SORENHED", S, "SOR unit code", nullable=False),
        Variable("C_SGH", S, "Hospital code (SHAK, 4 characters)"),
        Variable("C_AFD", S, "Department code (SHAK, 3 characters)"),
        Variable("NAVN", S, "Department name"),
        Variable("REGIONSKODE", S, "Region (SDS codes 1081-1085)", codes=REGION_SDS),
        Variable("hovedspeciale", S, "Main specialty (text)"),
        Variable("C_SPEC", S, "Specialty code used in LPR2"),
    ),
)

DPD = Register(
    key="dpd",
    title="Danish Palliative Care Database (DPD), referrals",
    source="RKKP (Regionernes Kliniske Kvalitetsudviklingsprogram)",
    file_stem="dpd",
    yearly=False,
    primary_key=("PNR", "HENV_DATO", "ENHED_ID"),
    doc_url="Groenvold et al. Clin Epidemiol 2016;8:637-643; RKKP value sets "
    "(KIP-infrastructure/implementation-guide)",
    notes=(
        "No public data dictionary of the DPD research extract exists: the column names are "
        "paleval's own (value sets follow RKKP's where public). One row per referral. Referred "
        "patients who never had contact have no first-contact date and a reason."
    ),
    variables=(
        _PNR,
        Variable("ENHED_ID", S, "SPC unit identifier (SOR code for hospital units)"),
        Variable(
            "ENHED_TYPE",
            S,
            "SPC unit type",
            codes={
                "hospice": "hospice",
                "palliativt_team": "hospital palliative team",
                "palliativ_afdeling": "hospital palliative unit/department",
            },
        ),
        Variable("HENV_DATO", D, "Date the referral was received", nullable=False),
        Variable(
            "HENV_FRA",
            S,
            "Referring party",
            codes={
                "hospital_department": "hospital department",
                "own_doctor": "general practitioner",
                "specialist_doctor": "practising specialist",
                "palliative_department": "other palliative unit",
                "patient_relatives": "patient or relatives",
            },
        ),
        Variable(
            "MODTAGET",
            INT,
            "Admitted to SPC (first contact took place)",
            codes={"0": "no", "1": "yes"},
            nullable=False,
        ),
        Variable("FOERSTE_KONTAKT_DATO", D, "Date of first contact / admission"),
        Variable(
            "IKKE_MODTAGET_AARSAG",
            S,
            "Reason for no contact",
            codes={
                "doed_foer_kontakt": "died before contact",
                "oensker_ikke": "declined",
                "opfylder_ikke_kriterier": "not eligible",
                "andet": "other",
            },
        ),
        Variable(
            "EORTC_UDFYLDT",
            INT,
            "EORTC QLQ-C15-PAL completed at baseline",
            codes={"0": "no", "1": "yes"},
        ),
        Variable(
            "MDK", INT, "Discussed at a multidisciplinary conference", codes={"0": "no", "1": "yes"}
        ),
    ),
)

SSSY = Register(
    key="sssy",
    title="Health insurance register (SSSY, Sygesikringsregisteret), GP services",
    source="SDS via Statistics Denmark",
    file_stem="sssy{year}",
    yearly=True,
    doc_url=DST_VARS + "SSSY%20-%20Sygesikring%20%286-cifret%29.html",
    notes=(
        "One row per person, provider, week and service with the number of services (YDLANT). "
        "Only the payment WEEK is known (HONUGE, yyww, ISO week), not the day. SPECIALE is six "
        "digits: SPEC2 (provider type, 80 = general practice) followed by the four-digit service "
        "code. Out-of-hours services are flagged by YDLTID (paleval codes; the real code list is "
        "not public). In the Capital Region the out-of-hours service has been hospital-based "
        "(1813) since 2014 and is not in SSSY. File per ISO year of HONUGE."
    ),
    variables=(
        _PNR,
        Variable("HONUGE", S, "Payment week, yyww (ISO year and week)", nullable=False),
        Variable("YDERNR", S, "Provider number (practice or out-of-hours service)"),
        Variable("SPEC2", S, "Provider type (80 general practice)"),
        Variable(
            "SPECIALE",
            S,
            "SPEC2 + service code (6 digits)",
            classification="paleval code list 'gp_services'",
            nullable=False,
        ),
        Variable(
            "YDLTID",
            S,
            "Time of service (paleval codes)",
            codes={"1": "daytime", "2": "out-of-hours"},
        ),
        Variable("YDLANT", INT, "Number of services", nullable=False),
        Variable("BRUHON", F, "Gross fee (DKK)"),
    ),
)

YDER = Register(
    key="yder",
    title="General practices (provider master data)",
    source="SDS Yderregisteret (synthetic extract)",
    file_stem="yder",
    yearly=False,
    primary_key=("YDERNR",),
    doc_url="SDS Yderregisteret",
    notes="Column names are paleval's own; list size is the number listed on 1 January of the "
    "start year.",
    variables=(
        Variable("YDERNR", S, "Provider number", nullable=False),
        Variable("REGIONSKODE", S, "Region (SDS codes 1081-1085)", codes=REGION_SDS),
        Variable("LISTESTOERRELSE", INT, "Number of listed patients"),
    ),
)

TILKNYTNING = Register(
    key="tilknytning",
    title="Listing of persons with a general practice",
    source="CPR / regional patient listing (synthetic extract)",
    file_stem="tilknytning",
    yearly=False,
    primary_key=("PNR", "DATO_FRA"),
    doc_url="no public research-register documentation; common proxy: the most frequent "
    "YDERNR with SPEC2 80 in SSSY",
    notes="Column names are paleval's own. One row per listing spell; DATO_TIL empty while "
    "current.",
    variables=(
        _PNR,
        Variable("YDERNR", S, "Provider number of the practice", nullable=False),
        Variable("DATO_FRA", D, "Listed from", nullable=False),
        Variable("DATO_TIL", D, "Listed until (exclusive); empty while current"),
    ),
)

CAR = Register(
    key="car",
    title="Cancer register (T_TUMOR)",
    source="SDS via Statistics Denmark",
    file_stem="t_tumor",
    yearly=False,
    doc_url="https://www.esundhed.dk/Dokumentation/DocumentationExtended?id=23",
    notes="ICD-10 without the 'D' prefix (e.g. C509). The SDS person key K_CPRNR is named "
    "PNR on Statistics Denmark's server.",
    variables=(
        _PNR,
        Variable("K_TUMORNR", S, "Tumour number"),
        Variable("D_DIAGNOSEDATO", D, "Date of diagnosis", nullable=False),
        Variable(
            "C_ICD10", S, "Cancer site", classification="ICD-10 (no D prefix)", nullable=False
        ),
        Variable("C_MORFO3", S, "Morphology (ICD-O-3)"),
    ),
)

LMDB = Register(
    key="lmdb",
    title="Prescription register (LMDB, Lægemiddeldatabasen)",
    source="SDS via Statistics Denmark",
    file_stem="lmdb{year}",
    yearly=True,
    doc_url=DST_VARS + "LMDB%20-%20L%C3%A6gemiddeldatabasen.html",
    variables=(
        _PNR,
        Variable("EKSD", D, "Dispensing date", nullable=False),
        Variable("ATC", S, "ATC code", classification="WHO ATC", nullable=False),
        Variable("VNR", S, "Product number (varenummer)"),
        Variable("APK", F, "Number of packages"),
        Variable("PACKSIZE", F, "Package size"),
        Variable("VOLUME", F, "Defined daily doses in the package"),
    ),
)

TERMINAL = Register(
    key="terminal",
    title="Terminal declaration / drug reimbursement due to terminal illness",
    source="Danish Medicines Agency, Central Reimbursement Register (synthetic extract)",
    file_stem="terminaltilskud",
    yearly=False,
    primary_key=("PNR",),
    doc_url="Sundhedsloven § 148; Daugaard et al. J Epidemiol Community Health 2019;73:435",
    notes="Granted on the physician's terminal declaration and registered in the Central "
    "Reimbursement Register; which research extract studies used is unverified, so the column "
    "names are paleval's own.",
    variables=(_PNR, Variable("BEVILLING_DATO", D, "Date of the grant", nullable=False)),
)

UDDA = Register(
    key="udda",
    title="Education register (UDDA), highest completed education",
    source="Statistics Denmark",
    file_stem="udda{year}",
    yearly=True,
    primary_key=("PNR",),
    doc_url=DST_VARS + "UDDA%20-%20Uddannelser%20%28BUE%29.html",
    notes="HFAUDD is a DISCED-15 education code; its level (AUDD_NIVEAU, 10-80 = ISCED 1-8) "
    "comes from DST's format catalogue. The synthetic HFAUDD codes and their mapping are in "
    "the code list 'education_hfaudd'; on a research server, export AUDD_NIVEAU_L1L2 to the "
    "same layout. Missing for many immigrants and the oldest; a person absent from UDDA has "
    "unknown education. One file per year (status on 30 September).",
    variables=(
        _PNR,
        Variable(
            "HFAUDD",
            S,
            "Highest completed education (DISCED-15 AUDD code)",
            classification="paleval code list 'education_hfaudd'",
            nullable=False,
        ),
        Variable("HF_VFRA", D, "Valid from"),
    ),
)

IND = Register(
    key="ind",
    title="Personal income (IND)",
    source="Statistics Denmark",
    file_stem="ind{year}",
    yearly=True,
    primary_key=("PNR",),
    doc_url="https://www.dst.dk/da/Statistik/dokumentation/Times/personindkomst/perindkialt-13",
    notes="Calendar-year income of persons resident at the end of the year (DKK, current prices).",
    variables=(
        _PNR,
        Variable("PERINDKIALT_13", F, "Total personal income (2013 definition)"),
        Variable("DISPON_13", F, "Disposable income (2013 definition); can be negative"),
    ),
)

FAIK = Register(
    key="faik",
    title="Family income (FAIK)",
    source="Statistics Denmark",
    file_stem="faik{year}",
    yearly=True,
    primary_key=("FAMILIE_ID",),
    doc_url=DST_VARS + "FAIK%20-%20Familieindkomster.html",
    notes="Join to persons through FAMILIE_ID in BEF of the same year. Equivalised disposable "
    "income uses the modified OECD scale.",
    variables=(
        Variable("FAMILIE_ID", S, "Family identifier", nullable=False),
        Variable("FAMAEKVIVADISP_13", F, "Equivalised disposable family income (2013 def.)"),
    ),
)

PLH = Register(
    key="plh",
    title="Nursing-home stays (PLH, Plejehjemsdata / the Danish Nursing Home Resident Database)",
    source="Danish Health Data Authority (SDS), Forskerservice",
    file_stem="plh",
    yearly=False,
    primary_key=("PNR", "TILFLYT_DATO"),
    doc_url=(
        "https://sundhedsdatastyrelsen.dk/da/forskerservice/om-forskerservice/"
        "nyheder_forskerservice/plejehjemsdata090921; Scand J Public Health 2025, "
        "doi:10.1177/14034948251391588"
    ),
    notes=(
        "One row per stay in a nursing home (plejehjem/plejebolig): who lives or has lived in a "
        "nursing home and in which period, from CPR addresses linked to SDS's validated list of "
        "nursing-home addresses (PLOV, the municipalities' 2014 lists, SOR, EOJ). SDS: data from "
        "2014 (nursing homes' names and addresses), reconstructed back to 2011; updated twice a "
        "year. The public description names the content (CPR number, address, move-in and "
        "move-out date) but not the variable names: TILFLYT_DATO and FRAFLYT_DATO are paleval's "
        "own. Before 2011 Statistics Denmark's 'Aeldreserviceindikator - imputerede "
        "plejehjemsbeboere' (PSD_AEL_L21_PERS_IMP, 2008-2016, IMP_MARK KOM/FTI) is the "
        "alternative. Nursing-home residence is not in BEF, which counts a resident as a "
        "one-person family."
    ),
    variables=(
        _PNR,
        Variable("TILFLYT_DATO", D, "Date of moving into the nursing home", nullable=False),
        Variable(
            "FRAFLYT_DATO",
            D,
            "Date of moving out (or death); missing while the stay goes on",
        ),
    ),
)

REGISTERS: dict[str, Register] = {
    r.key: r
    for r in (
        BEF,
        DOD,
        DODSAASG,
        LPR_ADM,
        LPR_DIAG,
        LPR_F_KONTAKTER,
        LPR_F_DIAGNOSER,
        SOR,
        DPD,
        SSSY,
        YDER,
        TILKNYTNING,
        CAR,
        LMDB,
        TERMINAL,
        UDDA,
        IND,
        FAIK,
        VNDS,
        PLH,
    )
}


def register_keys() -> list[str]:
    """Keys of all registers in the model, in data-flow order.

    Examples
    --------
    >>> register_keys()[:3]
    ['bef', 'dod', 'dodsaasg']
    """
    return list(REGISTERS)


# --------------------------------------------------------------------------- plausibility
# Declared plausible ranges and code-list links, checked by paleval.registers.validate and
# applied by the loaders with exclude=True (paleval.registers.validation.exclusion_filter).

DATE_FLOOR = dt.date(1890, 1, 1)
"""No date in any register is plausible before this day: nobody born earlier can be alive in
an extract of the 2000s (:data:`MAX_AGE_AT_DEATH`)."""

EARLIEST_DATES: dict[tuple[str, str], dt.date] = {
    # CPR (births and deaths with a PNR) from 2 April 1968: Pedersen, Scand J Public Health
    # 2011;39(7 Suppl):22-25; Schmidt et al. Eur J Epidemiol 2014;29:541-549
    ("dod", "DODDATO"): dt.date(1968, 4, 2),
    # computerised cause-of-death register from 1970: Helweg-Larsen, Scand J Public Health
    # 2011;39(7 Suppl):26-29
    ("dodsaasg", "D_DODSDATO"): dt.date(1970, 1, 1),
    # Danish National Patient Register from 1977: Schmidt et al. Clin Epidemiol 2015;7:449-490
    ("lpr_adm", "D_INDDTO"): dt.date(1977, 1, 1),
    ("lpr_adm", "D_UDDTO"): dt.date(1977, 1, 1),
    ("lpr_f_kontakter", "dato_start"): dt.date(1977, 1, 1),
    ("lpr_f_kontakter", "dato_slut"): dt.date(1977, 1, 1),
    # DPD registers patients from 1 January 2010 (Groenvold et al. Clin Epidemiol
    # 2016;8:637-643); a referral received up to a year before a 2010 admission is kept
    ("dpd", "HENV_DATO"): dt.date(2009, 1, 1),
    ("dpd", "FOERSTE_KONTAKT_DATO"): dt.date(2009, 1, 1),
    # Danish Cancer Registry from 1943: Gjerstorff, Scand J Public Health 2011;39(7 Suppl):42-45
    ("car", "D_DIAGNOSEDATO"): dt.date(1943, 1, 1),
    # individual prescriptions recorded since 1994 (Register of Medicinal Product Statistics;
    # Kildemoes et al. Scand J Public Health 2011;39(7 Suppl):38-41), complete from 1995
    # (Pottegard et al. Int J Epidemiol 2017;46:798)
    ("lmdb", "EKSD"): dt.date(1994, 1, 1),
}
"""Earliest plausible date of a date column (register ``key``, column), where the register
began later than :data:`DATE_FLOOR`; a date before it is rule ``date_before_range``."""

SENTINEL_DATES: tuple[dt.date, ...] = (
    dt.date(1899, 12, 30),
    dt.date(1899, 12, 31),
    dt.date(1900, 1, 1),
    dt.date(9999, 12, 31),
)
"""Dates that stand for "missing" or "open" in extracts rather than for a day: day 0 of
spreadsheet serial dates (1899-12-30 in Excel's and OLE Automation's convention, 1899-12-31 or
1900-01-01 in others), SQL Server's day 0 (1900-01-01) and the far-future 9999-12-31. Any date
in 2099 or later and SAS's day 0 (1960-01-01) in a column whose :data:`EARLIEST_DATES` is later
are sentinels too (rule ``date_sentinel``)."""

SENTINEL_FROM_YEAR = 2099
"""A date in this year or later is a sentinel (``2099-12-31`` and the like)."""

SAS_ZERO = dt.date(1960, 1, 1)
"""SAS day number 0: a missing date stored as 0 reads as 1 January 1960."""

NOT_BOUNDED_BY_EXTRACT: frozenset[tuple[str, str]] = frozenset(
    {
        # the start of an education's validity and a listing's planned end may lie after the
        # extract was drawn; they are not events
        ("udda", "HF_VFRA"),
        ("tilknytning", "DATO_TIL"),
    }
)
"""Date columns not checked against the extract's end (rule ``date_after_extract_end``)."""

OPEN_END_DATES: frozenset[tuple[str, str]] = frozenset(
    {("tilknytning", "DATO_TIL"), ("plh", "FRAFLYT_DATO")}
)
"""End-date columns in which a far-future date (9999-12-31, any date from
:data:`SENTINEL_FROM_YEAR`) is the common spelling of "still current", as an empty value is:
kept as it is (an interval open to the far future), not excluded as a sentinel nor as a date
after the extract's end. (A nursing-home stay with move-out 9999-12-31 was excluded, and its
resident counted as not living in a nursing home.)"""

MAX_AGE_AT_DEATH = 115
"""A death at a greater age (completed years from BEF's FOED_DAG) is implausible (rule
``age_over_max``): the longest validated life of anyone born in Denmark is 115 years and 252
days (Christian Mortensen, born 1882 in Skaarup, died 1998 in California; Skytthe, Jeune and
Wilmoth, "Age validation of the oldest man", in Validation of Exceptional Longevity, Odense
Monographs on Population Aging 6, 1999, demogr.mpg.de/books/odense/6/10.htm)."""

CODE_LISTS: dict[tuple[str, str], tuple[str, str]] = {
    # complete code lists only: gp_services (the SSSY services paleval uses) is not one, so
    # SPECIALE is not checked (a real extract has hundreds of service codes)
    ("bef", "KOM"): ("municipalities", "KOM"),
    ("dodsaasg", "C_PRAECIS_DODSSTED"): ("place_of_death", "C_PRAECIS_DODSSTED"),
    ("udda", "HFAUDD"): ("education_hfaudd", "HFAUDD"),
}
"""Coded columns whose values come from a paleval code list (``paleval.codes``): register
key and column -> (code list, its code column). A value outside the list is rule
``code_not_in_list`` (the analyses map it to "unknown" or leave it out)."""
