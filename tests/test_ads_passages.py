"""Passages written for these tests: advertised claims in five languages must come out exactly (organ, wait
range, price and currency), and negative passages (waiting-list statistics, hotel and flight prices, phone
numbers, dates, hospital stays, surgery durations) must give no claim at all."""

from __future__ import annotations

import pytest

from organwatch.ads.extract import Extractor, canonical_organ
from organwatch.ads.rules import load_pack
from organwatch.ads.text import html_text

EX = Extractor(load_pack())


def lang_of(t: str) -> str:
    if any("\uac00" <= c <= "\ud7a3" for c in t):
        return "ko"
    if any("\u3040" <= c <= "\u30ff" for c in t):
        return "ja"
    return "zh-Hans"


def got(text: str) -> list[tuple]:
    return [(canonical_organ(c.organ), c.wait and c.wait.lo, c.wait and c.wait.hi, c.price and c.price.lo,
             c.price and c.price.hi, c.price and c.price.currency) for c in EX.claims(text, lang_of(text))[0]]


POSITIVES = [
 ("肝移植平均等待时间为1周。", ("liver",7,7,None,None,None)),
 ("肾移植等待时间1周至1个月。", ("kidney",7,30,None,None,None)),
 ("东方器官移植中心平均等待时间2周。", (None,14,14,None,None,None)),
 ("如果第一次手术失败，1周内可进行第二次移植手术。", (None,None,7,None,None,None)),
 ("肾移植费用62,000美元", ("kidney",None,None,62000,62000,"USD")),
 ("肝移植：98,000-130,000美元", ("liver",None,None,98000,130000,"USD")),
 ("胰肾联合移植150,000美元", ("kidney+pancreas",None,None,150000,150000,"USD")),
 ("肝肾联合移植16万-18万美元", ("liver+kidney",None,None,160000,180000,"USD")),
 ("肝移植费用3.2万美元（约25万元人民币）", ("liver",None,None,32000,32000,"USD")),
 ("肝移植费用超过4万美元（约33万元）", ("liver",None,None,40000,None,"USD")),
 ("中介的肝移植介绍费高达1.3万美元", ("liver",None,None,None,13000,"USD")),
 ("간이식 비용 6000만~7000만원", ("liver",None,None,60000000,70000000,"KRW")),
 ("신장이식 2000만-2500만원", ("kidney",None,None,20000000,25000000,"KRW")),
 ("器官移植约3周，平均费用8.7万美元。", (None,21,21,87000,87000,"USD")),
 ("多器官移植仅等待10天。", ("multi-organ",10,10,None,None,None)),
 ("心脏移植3-5天就有供体。", ("heart",3,5,None,None,None)),
 ("肝移植半个月。", ("liver",15,15,None,None,None)),
 ("肝移植等待10天到半个月。", ("liver",10,15,None,None,None)),
 ("肝移植快的话1周。", ("liver",7,7,None,None,None)),
 ("移植等待一个半月。", (None,45,45,None,None,None)),
 ("器官移植等3到4周。", (None,21,28,None,None,None)),
 ("移植等待一两天到一两个月。", (None,1,60,None,None,None)),
 ("器官移植等1个月左右。", (None,30,30,None,None,None)),
 ("移植等候一个月。", (None,30,30,None,None,None)),
 ("移植一到两周（B型血）。", (None,7,14,None,None,None)),
 ("移植要等一两个月。", (None,30,60,None,None,None)),
 ("半个月也有可能找到供体。", (None,15,15,None,None,None)),
 ("心脏移植仅用了一个多小时就找到供心。", ("heart",0.042,0.042,None,None,None)),
 ("心脏移植登记4天后找到供体。", ("heart",4,4,None,None,None)),
 ("10天内找到4颗匹配的心脏。", ("heart",None,10,None,None,None)),
 ("成人肝脏26万元", ("liver",None,None,260000,260000,"CNY")),
 ("儿童肝脏10万元", ("liver",None,None,100000,100000,"CNY")),
 ("一对成人肾脏23万元", ("kidney",None,None,230000,230000,"CNY")),
 ("2至4周内可找到匹配器官。", (None,14,28,None,None,None)),
 ("中国医院两周内即可安排移植。", (None,None,14,None,None,None)),
 ("移植等待几天到两个月。", (None,None,60,None,None,None)),
 ("肝臓移植の待ち時間は1～2週間です。", ("liver",7,14,None,None,None)),
 ("腎臓移植は約1ヶ月で可能。", ("kidney",30,30,None,None,None)),
 ("肝臓移植 費用：1,500万円～2,000万円", ("liver",None,None,15000000,20000000,"JPY")),
 ("간 이식 대기 기간 2주", ("liver",14,14,None,None,None)),
 ("신장 이식 대기 한 달", ("kidney",30,30,None,None,None)),
 ("心臟移植等候時間兩週。", ("heart",14,14,None,None,None)),
 ("肝臟移植費用約人民幣20萬元。", ("liver",None,None,200000,200000,"CNY")),
 ("腎移植 US$ 62,000", ("kidney",None,None,62000,62000,"USD")),
 ("Kidney transplant costs about 500,000 yuan.", ("kidney",None,None,500000,500000,"CNY")),
 ("liver transplant ¥300,000", ("liver",None,None,300000,300000,"CNY")),
 ("Kidney: 3 to 4 weeks", ("kidney",21,28,None,None,None)),
 ("the waiting time for a kidney is only one week", ("kidney",7,7,None,None,None)),
 ("Liver transplants within 7-10 days", ("liver",7,10,None,None,None)),
]
NEGATIVES = [
 "美国肾移植的平均等待时间为3-5年。", "在美国，肝移植平均等待时间为11个月。", "2017年美国等候器官移植的约有11.7万人。",
 "In the US, 17 people die each day waiting for a transplant; the median wait for a kidney is 3.6 years.",
 "UNOS data: median waiting time for a liver was 11 months in 2013.", "酒店标准间每晚380元，含早餐。",
 "北京至沈阳机票约1200元。", "Flights from Seoul to Shenyang take 2 hours and cost $300.", "Hotel: $80 per night, 10 minutes from the hospital.",
 "电话：024-8328 2888 传真：024-8328 2999", "咨询电话：400-600-8899（24小时）", "Tel: +86-24-2325-6666 (24 hours)", "本院建于1958年10月1日。", "2006年3月15日，移植中心新楼启用。",
 "截至2005年12月，累计完成肝移植1000例。", "术后一周可下床活动，两周后出院。", "肝移植术后5年生存率达80%。", "Patients usually stay in hospital for 2-3 weeks after a kidney transplant.",
 "The 1-year survival rate after liver transplantation is 90%.", "每周一至周五上午8:00-11:30门诊。", "肾移植患者需终身服药，每月药费约3000元。",
 "Open 7 days a week, 24 hours a day.", "移植中心成立于2000年，已有20年历史。", "本院肝移植科有医生15名，床位60张。", "签证费用约140美元。",
 "The hospital was founded 50 years ago.", "挂号费：专家门诊50元。", "3个月大的婴儿接受了肝移植。", "入院后第3天进行了术前检查。", "Tour of Beijing: 3 days, $500.",
 "在日本，等待心脏移植平均需要3年。", "장기 이식 대기자 명단에 3만 명이 있다.", "한국의 신장 이식 평균 대기 기간은 5년이다.",
 "日本では腎臓移植の待機期間は平均15年です。", "ホテル代は1泊8000円。", "2019年全国完成肾移植1.2万例。", "肾移植手术时间约3-4小时。",
 "Kidney transplant surgery takes about 3 hours.", "肝移植患者住院期间陪护费每天200元。", "肝移植后随访2年。",
]


@pytest.mark.parametrize("text,want", POSITIVES, ids=lambda x: x if isinstance(x, str) else "")
def test_positive_passage(text, want):
    assert got(text) == [want]


@pytest.mark.parametrize("text", NEGATIVES)
def test_negative_passage(text):
    assert got(text) == []


def test_table_with_organs_heading_the_columns():
    page = ("<table><tr><th></th><th>肝移植</th><th>肾移植</th></tr><tr><td>等待时间</td><td>1-2周</td><td>1周</td>"
            "</tr><tr><td>费用</td><td>20万元</td><td>6万美元</td></tr></table>")
    v = html_text(page)
    claims = [(canonical_organ(c.organ), c.wait and (c.wait.lo, c.wait.hi), c.price and (c.price.lo, c.price.currency))
              for c in EX.claims(v.text, "zh-Hans")[0]]
    assert claims == [("liver", (7, 14), (200000, "CNY")), ("kidney", (7, 7), (60000, "USD"))]


def test_cells_are_not_joined_into_an_organ_combination():
    v = html_text("<table><tr><td>肝</td><td>肾</td></tr><tr><td>1周</td><td>2周</td></tr></table>")
    assert [canonical_organ(c.organ) for c in EX.claims(v.text, "zh-Hans")[0]] == ["liver", "kidney"]


MORE_NEGATIVES = [
    "我院现有床位1200张，年门诊量150万人次。", "2005年完成肝移植300余例，肾移植500例。", "肝移植术后3个月复查一次。",
    "肾移植患者术后需服用免疫抑制剂，每月费用约3000元。", "肝移植手术时间一般为6-8小时。", "患者术后平均住院时间为14天。",
    "中国每年约有150万人需要器官移植，但只有1万人能够得到移植。", "Kidney patients in the UK wait on average 2-3 years.",
    "Visit us Monday to Friday, 9 am to 5 pm. Call 010-6512 3456.", "心脏移植中心成立10周年庆典。",
    "肾移植后患者平均寿命延长10-20年。", "器官移植患者需要长期随访，术后第1年每月复查。", "供肝保存时间一般不超过12小时。",
    "肾脏冷缺血时间应控制在24小时以内。", "The donor heart can be preserved for 4-6 hours.",
    "The liver transplant program started in 1993 and performed its 1,000th transplant in 2004.",
]


@pytest.mark.parametrize("text", MORE_NEGATIVES)
def test_more_negative_passages(text):
    assert got(text) == []


PAGES = [
    ("en", "<table><tr><th>Transplant center</th><th>Average waiting period</th></tr><tr><td>Example Organ "
           "Transplant Center</td><td>2 weeks</td></tr><tr><td>Example Network</td><td>1-2 months for a liver, 1 week "
           "to 1 month for a kidney</td></tr></table>",
     [(None, (14, 14), None), ("liver", (30, 60), None), ("kidney", (7, 30), None)]),
    ("ja", "<p>腎臓移植：6.2万ドル</p><p>肝臓移植：9.8万～13万ドル</p><p>待機期間：1週間～1ヶ月</p>",
     [("kidney", None, (62000, 62000, "USD")), ("liver", None, (98000, 130000, "USD")), (None, (7, 30), None)]),
    ("en", "<p>Waiting time for a kidney transplant in China: one to two weeks. Cost: about US$70,000.</p>",
     [("kidney", (7, 14), (70000, 70000, "USD"))]),
    ("ko", "<p>중국 간이식 비용은 6천만~7천만원, 대기 기간은 1~2주.</p>",
     [("liver", (7, 14), (60000000, 70000000, "KRW"))]),
    ("zh-Hans", "<h3>肝移植</h3><p>等待时间：1-2周</p><p>费用：20-30万元</p><h3>肾移植</h3><p>等待时间：1周</p>"
                "<p>费用：6万美元</p>",
     [("liver", (7, 14), (200000, 300000, "CNY")), ("kidney", (7, 7), (60000, 60000, "USD"))]),
    ("en", "<h2>Liver transplant</h2><ul><li>Waiting time: 1-2 weeks</li><li>Cost: US$98,000</li></ul>",
     [("liver", (7, 14), (98000, 98000, "USD"))]),
    ("zh-Hans", "<p>肾移植中心</p><p>酒店每晚300元</p><p>电话：024-2325 6666</p>", []),
    ("zh-Hans", "<p>本院肾移植中心。血液透析每次400元。专家挂号费50元。营业时间：8:30-17:00。</p>", []),
]


@pytest.mark.parametrize("lang,page,want", PAGES)
def test_pages(lang, page, want):
    v = html_text(page)
    got_ = [(canonical_organ(c.organ), c.wait and (c.wait.lo, c.wait.hi),
             c.price and (c.price.lo, c.price.hi, c.price.currency)) for c in EX.claims(v.text, lang)[0]]
    assert got_ == want


def test_statistics_then_contrast_keeps_the_advertised_wait():
    assert got("在美国，肝移植要等11个月，而在我院只需1-2周。") == [("liver", 7, 14, None, None, None)]
