"""Every message the kiosk screen shows, in Japanese and English, in one
place. The page gets this table as JSON (``GET /api/messages``) and picks
the text by the problem's ``code`` (and ``reason``), never by ``detail``.

``{remaining}`` and ``{opens_at}`` are filled in by the page."""

from __future__ import annotations

from typing import Any

Text = dict[str, str]


def _t(ja: str, en: str) -> Text:
    return {"ja": ja, "en": en}


# Problem codes: API.md's table, the card's own answers, the project's additions
# (konbini/problems.py) and the kiosk's own (network, printer, reader).
PROBLEMS: dict[str, Text] = {
    "invalid-request": _t("入力内容に誤りがあります。", "The request was not valid."),
    "service-closed": _t(
        "ただいまコンビニ交付サービスの時間外です(6:30〜23:00、12月29日〜1月3日は休止)。",
        "The service is closed now (open 6:30–23:00; closed 29 December – 3 January)."),
    "session-not-found": _t("受付が見つかりません。最初からやり直してください。",
                            "This transaction was not found. Please start again."),
    "session-expired": _t("一定時間操作がなかったため受付を終了しました。",
                          "The transaction ended because there was no activity."),
    "challenge-expired": _t("カードの読み取りに時間がかかりました。もう一度お試しください。",
                            "Reading the card took too long. Please try again."),
    "already-authenticated": _t("このカードは既に確認済みです。",
                                "This card has already been checked."),
    "not-authenticated": _t("カードの確認が済んでいません。", "The card has not been checked."),
    "signature-invalid": _t("カードを確認できませんでした。",
                            "The card could not be verified."),
    "certificate-untrusted": _t("このカードの電子証明書は確認できません。",
                                "The card's certificate cannot be trusted."),
    "card-expired": _t("カードの電子証明書の有効期限が切れています。お住まいの市区町村窓口で"
                       "更新してください。",
                       "The card's certificate has expired. Please renew it at your "
                       "municipal office."),
    "card-suspended": _t("このカードの電子証明書は一時停止されています(紛失・盗難の届出)。",
                         "The card's certificate is suspended (reported lost or stolen)."),
    "card-revoked": _t("このカードの電子証明書は失効しています。",
                       "The card's certificate has been revoked."),
    "card-face-auth": _t("顔認証マイナンバーカードは暗証番号がないため、コンビニ交付には"
                         "利用できません。",
                         "A face-authentication card has no PIN and cannot be used for this "
                         "service."),
    "credential-not-supported": _t(
        "この店舗の端末はスマートフォンに対応していません。マイナンバーカードをご利用ください。",
        "This store's machines do not read smartphones. Please use your My Number card."),
    "municipality-not-participating": _t(
        "お住まいの市区町村はコンビニ交付を実施していません。",
        "Your municipality does not take part in convenience-store issuance."),
    "municipality-unavailable": _t(
        "お住まいの市区町村の証明書発行サーバが現在ご利用いただけません。",
        "Your municipality's certificate server is not available now."),
    # A refusal of the person, not of the certificate: the reason below says why.
    "resident-ineligible": _t("お客様の住民記録の状況により、コンビニ交付をご利用いただけません。",
                              "Your resident record does not allow convenience-store "
                              "issuance at present."),
    "type-unavailable": _t("この証明書は現在交付できません。",
                           "This certificate is not available now."),
    "member-not-in-household": _t("選択した方は同じ世帯ではありません。",
                                  "A chosen person is not in your household."),
    "fee-mismatch": _t("手数料が変更されました。もう一度お選びください。",
                       "The fee has changed. Please choose again."),
    "order-not-found": _t("申請が見つかりません。", "The order was not found."),
    "download-expired": _t("証明書の受け取り期限が過ぎました。",
                           "The certificate is no longer available for printing."),
    "rate-limited": _t("ただいま混み合っています。しばらくしてからお試しください。",
                       "The service is busy. Please try again shortly."),
    "upstream-timeout": _t("市区町村の証明書発行サーバから応答がありません。",
                           "The municipality's certificate server did not answer in time."),
    # The card's own answers (API.md, "The card itself answers the kiosk").
    "pin-incorrect": _t("暗証番号が違います。あと{remaining}回間違えるとロックされます。",
                        "Incorrect PIN. {remaining} attempt(s) left before the card locks."),
    "pin-locked": _t("暗証番号がロックされています。お住まいの市区町村窓口で暗証番号の"
                     "初期化をしてください。署名用電子証明書の暗証番号がわかる方は、"
                     "スマートフォンで予約してセブン-イレブンで再設定することもできます。",
                     "The PIN is locked after three wrong entries. Your municipal office can "
                     "reset it; if you know your signature PIN, you can also reserve a reset "
                     "on your phone and finish it at a Seven-Eleven."),
    "pin-reset-refused": _t("暗証番号の再設定ができませんでした。",
                            "The PIN could not be reset."),
    "card-not-issued": _t("このカードには利用者証明用電子証明書が入っていません。",
                          "This card holds no user-authentication certificate."),
    # Additions of this project (konbini/problems.py).
    "not-found": _t("見つかりません。", "Not found."),
    "method-not-allowed": _t("この操作はできません。", "This operation is not allowed."),
    "request-too-large": _t("データが大きすぎます。", "The request is too large."),
    "unsupported-media-type": _t("データの形式が違います。", "The data format is not accepted."),
    "client-not-allowed": _t("この端末は利用できません。", "This terminal is not allowed."),
    "municipality-mismatch": _t("市区町村が一致しません。", "The municipality does not match."),
    # The center's terminal registry (who is at the other end).
    "terminal-not-enrolled": _t("この端末はセンターに登録されていません。店員にお知らせください。",
                                "This machine is not registered with the center. Please tell "
                                "the staff."),
    "terminal-suspended": _t("この端末は現在ご利用いただけません。店員にお知らせください。",
                             "This machine is out of service. Please tell the staff."),
    "terminal-revoked": _t("この端末はご利用いただけません。店員にお知らせください。",
                           "This machine can no longer be used. Please tell the staff."),
    "database-unavailable": _t("ただいま混み合っています。しばらくしてからもう一度お試しください。",
                               "The service is busy. Please try again in a moment."),
    "chain-mismatch": _t("他のチェーンの端末は管理できません。",
                         "A chain may only manage its own terminals."),
    "resident-not-found": _t("住民記録が見つかりません。お住まいの市区町村窓口にお問い合わせ"
                             "ください。",
                             "Your resident record was not found. Please ask your municipal "
                             "office."),
    "conflict": _t("現在この操作はできません。", "This cannot be done now."),
    "upstream-error": _t("市区町村の証明書発行サーバでエラーが発生しました。",
                         "The municipality's certificate server had an error."),
    "internal-error": _t("システムエラーが発生しました。", "A system error occurred."),
    "image-too-large": _t("画像が大きすぎます。", "The image is too large."),
    "unauthorized": _t("認証されていません。", "Not authorised."),
    "not-ready": _t("ただいま混み合っています。しばらくしてからもう一度お試しください。",
                    "The service is busy. Please try again in a moment."),
    # The kiosk's own.
    "network-error": _t("通信が切断されました。", "The connection to the center was lost."),
    "download-corrupt": _t("証明書のデータが壊れていました。",
                           "The certificate data was corrupted."),
    "card-unreadable": _t("読み取れませんでした。カードは読み取り台に、スマートフォンは"
                          "読み取り部にかざしてください。",
                          "It could not be read. Place a card on the card reader, or hold a "
                          "smartphone over the smartphone reader."),
    "no-card": _t("カード(スマートフォン)が選ばれていません(テスター操作)。",
                  "No card or smartphone is chosen (tester controls)."),
    "persona-not-found": _t("このカードはありません。", "There is no such card."),
}

# ``reason`` of resident-ineligible and type-unavailable (API.md), shown under
# the problem's own line and on greyed menu items.
REASONS: dict[str, Text] = {
    "under-15": _t("15歳未満の方はコンビニ交付を利用できません。",
                   "Residents under 15 cannot use this service."),
    "moved-out": _t("転出された方の証明書は交付できません。",
                    "Certificates are not issued to residents who have moved out."),
    "moving-out": _t("転出予定の方の証明書は交付できません。",
                     "Certificates are not issued to residents about to move out."),
    "deceased": _t("このカードの方の証明書は交付できません(死亡)。",
                   "No certificate can be issued for this card's holder (deceased)."),
    "support-measure": _t("支援措置の対象の方はコンビニ交付を利用できません。市区町村窓口を"
                          "ご利用ください。",
                          "Residents under a support measure cannot use this service; please "
                          "use the municipal office."),
    "moved-in-today": _t("本日転入された方は翌日以降にご利用ください。",
                         "If you moved in today, please use the service from tomorrow."),
    "unsupported-characters": _t(
        "氏名または住所にコンビニで印字できない文字が含まれています。市区町村窓口をご利用"
        "ください。",
        "Your name or address has characters the store cannot print; please use the "
        "municipal office."),
    "not-resident": _t("住民登録がありません。", "You are not registered as a resident."),
    # upstream-error (issue 14): the center caught a certificate that was not the holder's.
    "subject-mismatch": _t("証明書の内容を確認できなかったため、印刷を中止しました。料金は"
                           "かかりません。市区町村窓口にお問い合わせください。",
                           "The certificate could not be confirmed as yours, so nothing was "
                           "printed and nothing is charged. Please ask your municipal office."),
    "not-offered": _t("お住まいの市区町村ではこの証明書をコンビニで交付していません。",
                      "Your municipality does not issue this certificate at stores."),
    "outside-hours": _t("この証明書の取扱時間外です。", "Outside the hours for this certificate."),
    "seal-not-registered": _t("印鑑登録がありません。", "No seal is registered."),
    "no-domicile": _t("本籍がこの市区町村にありません。",
                      "Your family register is not kept by this municipality."),
    "use-registration-required": _t("本籍地の市区町村への利用登録が必要です。",
                                    "You must first register for this use with the "
                                    "municipality of your registered domicile."),
    "use-registration-pending": _t("登録手続き中です。本籍地の市区町村の確認後にご利用"
                                   "いただけます。",
                                   "Registration in progress: available once the "
                                   "municipality of your domicile approves it."),
    "household-member-moving-out": _t(
        "世帯に転出予定の方がいるため、住民票の写しはコンビニでは交付できません。窓口を"
        "ご利用ください。",
        "Someone in your household is about to move out, so a resident record copy cannot "
        "be issued at a store; please use the municipal office."),
    "notification-pending": _t(
        "戸籍への届出を処理中のため、戸籍証明書は処理が終わるまで交付できません。",
        "A notification filed for your family register is being processed; its "
        "certificates are available once it is entered."),
    "too-long-to-print": _t(
        "氏名または住所が証明書に印字できる文字数を超えています。市区町村窓口をご利用"
        "ください。",
        "Your name or address is longer than the certificate can print; please use the "
        "municipal office."),
    "no-tax-record": _t("課税・所得の記録がありません。", "There is no tax record."),
    "no-disaster-record": _t("罹災の記録がありません。", "There is no disaster record."),
    "no-member-chosen": _t("少なくとも1人選んでください。", "Choose at least one person."),
    "pin-reset-at-seven-eleven": _t(
        "暗証番号の再設定が予約されています。セブン-イレブンのマルチコピー機で、予約から24時間"
        "以内に再設定できます。",
        "A PIN reset is reserved: finish it at a Seven-Eleven multi-copy machine within 24 "
        "hours of the reservation."),
    "pin-reset-expired": _t(
        "暗証番号の再設定の予約から24時間が過ぎました。スマートフォンでもう一度予約するか、"
        "市区町村窓口で初期化してください。",
        "The PIN reset reservation is more than 24 hours old: reserve again on your phone, "
        "or have it reset at the municipal office."),
    "pin-reset-not-reserved": _t("暗証番号の再設定の予約がありません。",
                                 "No PIN reset is reserved."),
    "paper-jam": _t("用紙詰まりのため印刷できませんでした。",
                    "Not printed because of a paper jam."),
    "network": _t("通信が切断されたため印刷できませんでした。",
                  "Not printed because the connection was lost."),
}

GENERIC: Text = _t("この証明書は現在交付できません。係員にお尋ねください。",
                   "This cannot be done now. Please ask the staff.")

# The screens' own words.
UI: dict[str, Text] = {
    "title": _t("証明書交付サービス", "Certificate Issuance"),
    "subtitle": _t("マイナンバーカードで住民票の写しなどを取得できます",
                   "Get certificates such as a resident record with your My Number card"),
    "start": _t("はじめる", "Start"),
    "language": _t("言語 / Language", "Language / 言語"),
    "insert_title": _t("マイナンバーカードを置いてください",
                       "Place your My Number card on the reader"),
    "insert_or_phone": _t("またはスマートフォンを読み取り部にかざしてください",
                          "or hold your smartphone over the reader"),
    "place_card": _t("カードを置く", "Place the card"),
    "hold_phone": _t("スマートフォンをかざす", "Hold the smartphone"),
    "reading": _t("読み取り中です…", "Reading…"),
    "pin_title": _t("利用者証明用電子証明書の暗証番号(数字4桁)を入力してください",
                    "Enter the 4-digit PIN of the user-authentication certificate"),
    "pin_hint": _t("周りの人に見られないようにご注意ください",
                   "Make sure no one can see you enter it"),
    "clear": _t("訂正", "Clear"),
    "ok": _t("確認", "OK"),
    "cancel": _t("中止", "Cancel"),
    "back": _t("戻る", "Back"),
    "next": _t("次へ", "Next"),
    "menu_title": _t("証明書の種類を選んでください", "Choose a certificate"),
    "per_copy": _t("1通", "per copy"),
    "yen": _t("{n}円", "¥{n}"),
    "unavailable": _t("交付できません", "Not available"),
    "issued_by": _t("発行: {name}", "Issued by {name}"),
    "register_with": _t("{name}に利用登録する", "Register with {name}"),
    "use_registered": _t("{name}への利用登録が完了しました。{name}の証明書を選べます。",
                         "Registered with {name}: its certificates are now on the menu."),
    "use_pending": _t("{name}への利用登録を受け付けました。登録手続き中です。{name}の確認が"
                      "済むと(通常1〜3開庁日)、戸籍証明書を選べます。",
                      "Your registration with {name} was received and is being processed; "
                      "its family-register certificates can be chosen once {name} approves "
                      "it (usually 1–3 business days)."),
    "options_title": _t("記載内容を選んでください", "Choose what the certificate shows"),
    "members": _t("交付対象者", "Who is listed"),
    "household": _t("世帯全員", "Whole household"),
    "chosen": _t("世帯の一部の方", "Chosen members"),
    "self_mark": _t("(ご本人)", "(you)"),
    "relationship": _t("世帯主の氏名と続柄", "Head of household and relationship"),
    "domicile": _t("本籍・筆頭者", "Registered domicile and head of family register"),
    "nationality": _t("国籍・地域、在留資格等(外国人住民の方)",
                      "Nationality and residence status (foreign residents)"),
    "include": _t("記載する", "Include"),
    "omit": _t("記載しない", "Omit"),
    "fiscal_year": _t("年度", "Fiscal year"),
    "fiscal_year_n": _t("{n}年度", "FY{n}"),
    "disaster": _t("災害", "Disaster"),
    "person": _t("証明する方(同じ戸籍の方)", "Whose record (same family register)"),
    "choose_one": _t("少なくとも1人選んでください", "Choose at least one person"),
    "copies_title": _t("部数を選んでください", "How many copies?"),
    "copies_n": _t("{n}通", "{n} cop(ies)"),
    "confirm_title": _t("内容をご確認ください", "Please check your order"),
    "certificate": _t("証明書", "Certificate"),
    "copies": _t("部数", "Copies"),
    "fee": _t("手数料", "Fee"),
    "total": _t("合計", "Total"),
    "pay": _t("お支払いへ", "Go to payment"),
    "payment_title": _t("お金を入れてください", "Please insert money"),
    "inserted": _t("投入金額", "Inserted"),
    "remaining": _t("不足額", "Still due"),
    "change": _t("おつり", "Change"),
    "coins": _t("硬貨", "Coins"),
    "notes": _t("紙幣", "Notes"),
    "print": _t("印刷する", "Print"),
    "cancel_payment": _t("取消(お金を返す)", "Cancel (return money)"),
    "money_returned": _t("{n}円をお返ししました", "¥{n} was returned"),
    "printing_title": _t("印刷しています", "Printing"),
    "printing_progress": _t("{done} / {total} 通", "{done} of {total}"),
    "printing_wait": _t("カードを抜かずにお待ちください", "Please wait; do not remove your card"),
    "result_title": _t("印刷が終わりました", "Printing finished"),
    "result_partial": _t("一部の証明書を印刷できませんでした", "Some copies could not be printed"),
    "result_none": _t("証明書を印刷できませんでした", "No copy could be printed"),
    "printed": _t("印刷済み", "Printed"),
    "failed": _t("印刷失敗", "Failed"),
    "front": _t("表面", "Front"),
    "back_side": _t("裏面", "Back"),
    "download_pdf": _t("PDFをダウンロード", "Download PDF"),
    "charged": _t("お支払い額", "Charged"),
    "refunded": _t("返金額", "Refund"),
    "paid": _t("投入金額", "Inserted"),
    "report_pending": _t("センターへの結果報告は通信回復後に送信します",
                         "The result will be sent to the center when the connection is back"),
    "finish": _t("終了", "Finish"),
    "take_card_title": _t("カード(スマートフォン)をお取りください",
                          "Please take your card (smartphone)"),
    "take_card_receipt": _t("証明書とおつりのお取り忘れにご注意ください",
                            "Don't forget your certificates and change"),
    "take_card": _t("カードを取る", "Take the card"),
    "countdown": _t("あと{n}秒で最初の画面に戻ります", "Returning to the start in {n} s"),
    "error_title": _t("ご利用いただけません", "This cannot be done"),
    "opens_at": _t("再開予定: {opens_at}", "Opens again: {opens_at}"),
    "idle_reset": _t("一定時間操作がなかったため、最初の画面に戻りました",
                     "Returned to the start because there was no activity"),
    "idle_warning": _t("操作がないため、まもなく最初の画面に戻ります",
                       "Returning to the start soon because there was no activity"),
    "pin_reset_title": _t("暗証番号の再設定(利用者証明用電子証明書)",
                          "Reset the PIN (user-authentication certificate)"),
    "pin_reset_new": _t("新しい暗証番号(数字4桁)を入力してください",
                        "Enter a new 4-digit PIN"),
    "pin_reset_again": _t("確認のため、もう一度入力してください",
                          "Enter the new PIN again to confirm"),
    "pin_mismatch": _t("1回目と2回目の暗証番号が一致しません。もう一度入力してください。",
                       "The two entries differ. Please enter the new PIN again."),
    "pin_reset_done": _t("暗証番号を再設定しました。新しい暗証番号を入力してください。",
                         "The PIN was reset. Enter the new PIN."),
    "pin_wrong": _t("暗証番号が違います", "Incorrect PIN"),
    "remaining_attempts": _t("残り{remaining}回", "{remaining} attempt(s) left"),
    "pin_digits": _t("入力済み {n} / 4 桁", "{n} of 4 digits entered"),
}


def catalog() -> dict[str, Any]:
    """The whole table, as the page loads it."""
    return {"problems": PROBLEMS, "reasons": REASONS, "generic": GENERIC, "ui": UI}
