import hashlib
import json
import os

import pandas as pd

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src', 'organwatch', 'datasets', 'data'))
def tomlstr(s): return json.dumps(s, ensure_ascii=False)
common = {
 'value':'number as published (no rounding, no interpolation)',
 'qualifier':'exact | approx (about/nearly/rounded 万) | at_least (more than/余/超过)',
 'source_url':'page the number was read from (archived copy)',
 'source_published':'publication date of the source page',
 'reliability':'normal | mirror (spam-injected or mirror copy of an official outlet) | secondary (blog/aggregator) | low (automated text corruption)',
 'verbatim':'exact quotation from the source',
 'notes':'caveats; compiler readings are marked as such',
 'attributed_to':'body the source names (COTRS, NHC, CODAC, COTDF, GODT ...) and the outlet',
 'record_id':'stable row id',
 'value_text_as_published':'the published wording, verbatim or a verbatim fragment',
 'value_qualifier':'bound type: exact/blank, >, >=, about, nearly, planned ...',
 'value_max':'upper end when the source gives a range',
 'in_bmc2019_paper':'unknown: which provinces/hospitals the paper used could not be recovered',
}
D = [
 ('china_table7','china_official/bmc2019_table7_transplant_totals_2016.csv','China: BMC 2019 Table 7, transplant totals 2016',
  'Verbatim copy of Table 7 of Robertson, Hinde & Lavee, BMC Medical Ethics 20:79 (2019): Red Cross all-organ total vs COTRS kidney+liver and CCTV heart/lung counts for 2016.',
  ['https://bmcmedethics.biomedcentral.com/articles/10.1186/s12910-019-0406-6/tables/7'],
  'Table of a CC BY 4.0 article (BMC Medical Ethics); cite the paper.',
  {'paper_table':'table number in the paper','table_title':'table title as printed','year':'activity year','category':'machine name: all_organs, kidney_and_liver, lung, heart, remainder','column_label_verbatim':'column header as printed','footnote_marker':'footnote letter','footnote_source_verbatim':'footnote text: a = Central Red Cross, b = COTRS 2017, c = Huang Jiefu on CCTV 2017-03-07'}),
 ('china_published_results','china_official/published_results.csv','China: published results of Robertson, Hinde & Lavee (2019) recovered so far',
  '21 recovered findings of the BMC 2019 paper (from its abstract, Table 7 and press reports of it) plus 8 explicit not-recovered items; each with evidence level and verbatim quotation.',
  ['https://bmcmedethics.biomedcentral.com/articles/10.1186/s12910-019-0406-6','https://www.afr.com/politics/federal/the-simple-math-that-could-prove-beijing-is-still-harvesting-organs-20191114-p53akz','https://hk.epochtimes.com/news/2019-11-20/74634143'],
  'Compiled quotations with their sources; see each row source_url.',
  {'result_id':'stable key of the published result','dataset':'series the result is about','quantity':'what is measured','value':'number or short text exactly as published; empty when qualitative or not recovered','value_unit':'unit of value','years_covered':'year window, where stated','comparator':'what it is compared against','status':'recovered | recovered_qualitative | values_not_recovered | not_recovered','evidence_level':'paper_table | paper_abstract | press_quote_of_paper | press_report_of_paper | press_quote_of_author','source_name':'outlet and date'}),
 ('china_annual_national','china_official/official_annual_national.csv','China: official annual national figures 2004-2024',
  'National annual donation and transplant figures with every conflicting version kept; headline_national_deceased_donors marks one consistent deceased-donor series (2010, 2015-2024; 2011-2014 not recoverable).',
  ['see source_url on each row'], 'Official figures as reported by media/officials; each row cites its source.',
  {'year':'activity year','metric':'deceased_donors, kidney_tx, liver_tx, heart_tx, lung_tx, godt_* ... (see SOURCES.md vocabulary)','unit':'donors, organs, operations, hospitals, percent, pmp ...','source_type':'official_via_media | conference_abstract | paper_table | press_report_of_paper | godt_dataset | secondary','headline_national_deceased_donors':'1 on exactly one row per year forming the headline deceased-donor series'}),
 ('china_cumulative_snapshots','china_official/cumulative_snapshots_national.csv','China: Red Cross/CODAC cumulative counter snapshots 2014-2024',
  'Point-in-time cumulative national counters (donors, organs, registrations) plus year-to-date and event rows; raw material for organs-per-donor increments.',
  ['see source_url on each row'], 'Official figures as reported; each row cites its source.',
  {'as_of':'date of the count','as_of_precision':'day | month | year | article date | period','metric':'cumulative_deceased_donors, cumulative_organs_donated, registered_volunteers, ytd_*, period totals ...'}),
 ('china_provincial','china_official/provincial_official.csv','China: provincial Red Cross figures',
  'Guangdong, Hunan, Guangxi, Shanxi and 2019 Guangdong/Hubei/Shandong figures from archived press pages; not the paper\'s provincial datasets.',
  ['see source_url on each row'], 'Official figures as reported; each row cites its source.',
  {'province':'province / autonomous region','period_type':'annual | cumulative | partial_year | rolling_12m','period_start':'period start as stated','period_end':'period end as stated','metric':'deceased_donors, organs_donated, kidneys_donated ...'}),
 ('china_hospital','china_official/hospital_official.csv','China: hospital-level official figures',
  'Zhongshan (Fudan) OPO, Foshan First People\'s Hospital, Armed Police General Hospital Beijing; not the paper\'s hospital cross-checks.',
  ['see source_url on each row'], 'Peer-reviewed and press sources; each row cites its source.',
  {'hospital':'hospital name','province':'province','period_start':'period start','period_end':'period end','metric':'what is counted'}),
]
godt_cols = {'source_file':'which GODT vintage the row comes from (yu-group 2018 download for 2000-2017; rbullajr 2025 download for 2020-2024)','region':'WHO region','country':'country name as in the vintage (spellings change between vintages)','year':'activity year','population_millions':'population in millions as used by GODT',
 'total_actual_dd':'actual deceased donors (at least one organ recovered) = DBD + DCD','actual_dbd':'actual donors after brain death','actual_dcd':'actual donors after circulatory death','total_utilized_dd':'utilized deceased donors (at least one organ transplanted)','utilized_dbd':'utilized DBD donors','utilized_dcd':'utilized DCD donors',
 'dd_kidney_tx':'kidney transplants from deceased donors','ld_kidney_tx':'kidney transplants from living donors','total_kidney_tx':'all kidney transplants','dd_liver_tx':'liver transplants from deceased donors','domino_liver_tx':'domino liver transplants','ld_liver_tx':'liver transplants from living donors','total_liver_tx':'all liver transplants','total_heart_tx':'heart transplants','dd_lung_tx':'lung transplants from deceased donors','ld_lung_tx':'lung transplants from living donors','total_lung_tx':'all lung transplants','pancreas_tx':'pancreas transplants','kidney_pancreas_tx':'kidney-pancreas transplants','small_bowel_tx':'small bowel transplants'}
godt_src = ['http://www.transplant-observatory.org/export-database/']
godt_lic = 'No licence file in the source repositories; GODT asks for citation: "Global Observatory on Donation and Transplantation (GODT) data, produced by the WHO-ONT collaboration." Research and reproducibility use.'
D += [
 ('godt_combined','godt/godt_combined_long_2000-2017_2020-2024.csv','GODT: combined long file 2000-2017 + 2020-2024',
  'Yu-Group 2018 vintage (2000-2017) stacked on the rbullajr 2025 vintage (2020-2024); reshaped only, no value changed. 2018-2019 are not covered.',
  godt_src+['https://github.com/Yu-Group/vds-book-supplementary','https://github.com/rbullajr/pcs-5787-dataset-correlacao-godt-hdro'], godt_lic, godt_cols),
 ('godt_yu2018','godt/yu-group_vds-book_global-organ-donation_2018.csv','GODT: export downloaded 2018 (Yu-Group copy), 2000-2017',
  'GODT export as copied in the Veridical Data Science book repository (commit 44874fb).', godt_src+['https://github.com/Yu-Group/vds-book-supplementary'], godt_lic, {}),
 ('godt_barter2016','godt/rlbarter_superheat-examples_global-organ-donation.csv','GODT: export downloaded 2016 (rlbarter copy), 2000-2014',
  'Older GODT vintage (CR line endings, thousands separators in POPULATION).', godt_src+['https://github.com/rlbarter/superheat-examples'], godt_lic, {}),
 ('godt_bulla2025','godt/rbullajr_pcs-5787_df_transplants_2020-2024.csv','GODT: export downloaded 2025-11-14 (rbullajr copy), 2020-2024',
  'GODT export merged with UNDP HDI; semicolon separator, comma decimal; zeros may be NA filled with 0.', godt_src+['https://github.com/rbullajr/pcs-5787-dataset-correlacao-godt-hdro'], godt_lic, {}),
 ('godt_country_iso3','godt/country_iso3.csv','GODT: country name to ISO 3166-1 alpha-3 (organwatch mapping)',
  'Every country spelling found in the three GODT vintages mapped to ISO3 by pycountry lookup, with manual matches for renamed, mangled or mojibake names (matched_by says which). Written by the organwatch developers.',
  ['https://www.iso.org/iso-3166-country-codes.html'], 'organwatch (Apache-2.0).',
  {'godt_country_name':'country name exactly as in a GODT file (trailing spaces kept)','iso3':'ISO 3166-1 alpha-3 code','matched_by':'pycountry | manual: reason'}),
 ('laws','legislation/laws.csv','Legislation: 42 instruments on forced organ harvesting and transplant tourism',
  'US state insurer bans, federal bills, national laws, resolutions and statements; provisions summarised in the compilers\' words (not legal advice, not statutory text).',
  ['see source_url on each row'], 'Summaries written by the compilers; statutes are public records.',
  {'id':'stable slug <jurisdiction>-<instrument>-<year>','jurisdiction':'ISO 3166-1/2 code, EU, CoE or INT','level':'us_state | us_federal | national | supranational | professional_body | tribunal','instrument':'bill/act number and title','year':'year of the status event','status':'enacted | in_force | vetoed | passed_lower_chamber | introduced | adopted | opened_for_signature | published | proposed','status_date':'date of the status event','provisions':'summary of what is required/banned, effective dates, countries named','covers_insurance_ban':'bars or lets payers limit coverage tied to a country/illicit organ source','covers_criminal':'creates or strengthens criminal offences','covers_reporting':'creates a reporting duty','covers_travel_warning':'asks for travel warnings/counselling','covers_passport_or_sanctions':'passport, visa or sanctions measures','source_url':'space-separated source URLs'}),
]
vol = [('volume_hospitals','hospitals.csv','Volume: per-hospital capacity figures (beds, occupancy, stays, volumes)'),
 ('volume_national_totals','national_totals.csv','Volume: official and reported national totals'),
 ('volume_licensed_hospitals','licensed_hospitals.csv','Volume: licensed transplant-hospital counts'),
 ('volume_licensed_roster_beijing','licensed_roster_beijing.csv','Volume: Beijing licensed-hospital roster'),
 ('volume_published_estimates','published_estimates.csv','Volume: published volume estimates (60k-100k, 10k, ...)'),
 ('volume_published_parameters','published_parameters.csv','Volume: published model parameters (length of stay, occupancy ...)'),
 ('volume_comparators','comparators_international.csv','Volume: international comparator figures'),
 ('volume_sources','sources.csv','Volume: source URLs with publisher category')]
for n,f,t in vol:
    D.append((n,'volume/'+f,t,'See volume/README.md for columns and caveats; every row is a number as a source printed it, conflicting figures kept side by side.',['see source_url on each row'],'Compiled from public sources; publisher category in volume_sources.',{}))

import re as _re


def readme_cols(path):
    m={}
    for line in open(path, encoding='utf-8'):
        r=_re.match(r"^\|\s*`?([A-Za-z_][A-Za-z0-9_ ]*?)`?\s*\|\s*(.+?)\s*\|\s*$", line)
        if r and r.group(1).lower() not in ('column','file','godt column'):
            parts=[p.strip() for p in line.strip().strip('|').split('|')]
            if len(parts)>=2: m.setdefault(parts[0].strip('`'), parts[-1])
    return m
VOL={'city':'city','province':'province','period_start':'period start as published','period_end':'period end as published','source_type':'kind of source (official, advocacy report, media ...)','as_of_date':'date the count refers to, as published','scope':'what is counted','count':'number of hospitals as published','count_qualifier':'bound type of count','list_date':'date of the roster as published','organs_permitted_zh':'organs the hospital is licensed for (Chinese, as published)','estimator':'who made the estimate','publication':'where it was published','pub_year':'year of publication','quantity':'what is estimated','period':'period the estimate refers to','value_low':'low end as published','value_high':'high end as published','method_as_described_in_source':'method in the source\'s own description','parameter':'parameter name (length_of_stay, occupancy ...)','context':'where the parameter was used or reported','reported_or_used_by':'who reported or used the value','country_or_scope':'country or scope of the comparator','year':'year','publisher_category':'kind of publisher (state media, advocacy organisation, academic ...)','used_in_files':'which volume files cite the URL'}
RC={g: readme_cols(p) for g,p in [('volume','volume/README.md'),('legislation','legislation/README.md'),('godt','godt/SOURCES.md')]}
out = ['# Catalog of embedded datasets: origin, sources, licence, sha256 and column meanings.',
       '# Verified by tests/test_datasets.py (sha256 and columns must match the vendored files).','']
for name,f,title,desc,urls,lic,cols in D:
    kw = dict(sep=';', decimal=',') if 'rbullajr' in f else {}
    if 'rlbarter' in f: kw = dict(lineterminator='\r')
    d = pd.read_csv(f, dtype_backend='numpy_nullable', **kw)
    sha = hashlib.sha256(open(f,'rb').read()).hexdigest()
    group = f.split('/')[0]
    readme = {'godt':'godt/SOURCES.md','legislation':'legislation/README.md','volume':'volume/README.md','china_official':'SOURCES.md'}[group]
    out += [f'[datasets.{name}]', f'file = {tomlstr(f)}', f'group = {tomlstr(group)}', f'title = {tomlstr(title)}', f'description = {tomlstr(desc)}',
            f'source_urls = {json.dumps(urls, ensure_ascii=False)}', f'licence = {tomlstr(lic)}', f'readme = {tomlstr(readme)}', f'sha256 = "{sha}"', f'rows = {len(d)}']
    if kw: out.append(f'read_options = {{ {", ".join(f"{k} = {tomlstr(v)}" for k,v in kw.items())} }}')
    if 'godt' in group: out.append('attribution = "Global Observatory on Donation and Transplantation (GODT) data, produced by the WHO-ONT collaboration."')
    out.append(f'[datasets.{name}.columns]')
    for c,t in d.dtypes.astype(str).items():
        tt = {'Int64':'int','Float64':'float','string':'str','boolean':'bool'}[t]
        descr = cols.get(c) or common.get(c) or RC.get(group,{}).get(c) or ''
        if not descr and group=='godt':
            k=c.lower().replace(' ','_'); pmp=k.startswith('pmp_'); k=k[4:] if pmp else k
            k={'reportyear':'year','population':'population_millions','total_heart':'total_heart_tx','total_liver_tx':'total_liver_tx','total_tx':None,'development':None,'idh':None,'idx_region':None}.get(k,k)
            extra={'total_tx':'sum of kidney, liver, heart, lung, pancreas and small-bowel transplants (computed by the repository authors, not GODT)','development':'UNDP human development class (HDR 2025; added by the repository authors)','idh':'UNDP human development index value (added by the repository authors)','idx_region':'region index (added by the repository authors)'}
            base=godt_cols.get(k) if k else None
            descr = (('per million population (computed by the repository authors): ' if pmp else '') + base) if base else extra.get(c.lower().replace(' ','_').removeprefix('pmp_'),'')
            if pmp and descr and not descr.startswith('per million'): descr='per million population (computed by the repository authors): '+descr
        if not descr: descr = VOL.get(c,'')
        out.append(f'{tomlstr(c)} = {{ type = "{tt}", description = {tomlstr(descr)} }}')
    out.append('')
open('../catalog.toml','w').write('\n'.join(out))
