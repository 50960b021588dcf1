"""What counts as the text of a reply, and what as a machine's answer (no server needed)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from engine.notify.reply_text import automatic_reason, named_tasks, new_text, reply_body

NOTICE = "市发改局：\n\n　　任务 1“统筹谋划体系建设”将于 2021年6月30日 到期，请抓紧推进。\n"


@pytest.mark.parametrize(
    "reply",
    [
        # Outlook (Chinese)
        "已完成初稿。\n\n________________________________\n"
        "发件人: 督办系统 <duban@example.gov.cn>\n发送时间: 2021年6月23日 9:00\n主题: 提醒\n\n"
        + NOTICE,
        # Outlook (English)
        "已完成初稿。\n\n-----Original Message-----\nFrom: duban@example.gov.cn\n\n" + NOTICE,
        # Foxmail / QQ Mail
        "已完成初稿。\n\n------------------ 原始邮件 ------------------\n发件人: \"督办系统\"\n"
        + NOTICE,
        # Apple Mail, NetEase: "在 … 写道：", sometimes wrapped over two lines
        "已完成初稿。\n\n在 2021年6月23日 09:00，督办系统 <duban@example.gov.cn> 写道：\n> "
        + NOTICE,
        "已完成初稿。\n\n在 2021年6月23日 09:00，督办系统 <duban@example.gov.cn>\n写道：\n\n"
        + NOTICE,
        "已完成初稿。\n\nOn Wed, Jun 23, 2021 at 9:00 AM 督办系统 <duban@example.gov.cn> wrote:\n"
        "> " + NOTICE,
        # phones
        "已完成初稿。\n\n发自我的iPhone\n\n> " + NOTICE,
        "已完成初稿。\n\n发自我的华为手机\n" + NOTICE,
        "已完成初稿。\n\nSent from my iPhone\n" + NOTICE,
        # a signature
        "已完成初稿。\n-- \n张三\n市发改局综合科\n",
        # quoted lines inside, kept text around them
        "> 请抓紧推进。\n已完成初稿。\n",
    ],
    ids=["outlook-zh", "outlook-en", "foxmail", "apple", "apple-wrapped", "gmail", "iphone",
         "huawei", "iphone-en", "signature", "inline-quote"],
)
def test_the_quote_and_signature_are_cut_off(reply):
    assert new_text(reply) == "已完成初稿。"


def test_several_paragraphs_of_the_reply_are_kept():
    assert new_text("一、已完成初稿。\n\n\n\n二、下周报送。\n\n发自我的iPhone") == (
        "一、已完成初稿。\n\n二、下周报送。"
    )


def test_an_html_only_reply_leaves_out_the_quoted_notice():
    mail = EmailMessage()
    mail.set_content(
        "<html><body><div>已完成初稿，</div><div>下周报送。</div>"
        '<div class="gmail_quote"><div class="gmail_attr">督办系统 写道：</div>'
        f"<blockquote>{NOTICE}</blockquote></div></body></html>",
        subtype="html",
    )
    assert reply_body(mail) == "已完成初稿，\n下周报送。"


def test_a_blockquote_in_html_is_skipped_and_the_text_after_it_kept():
    mail = EmailMessage()
    mail.set_content(
        f"<p>已完成。</p><blockquote>{NOTICE}</blockquote><p>另：附件为报告。</p>", subtype="html"
    )
    assert reply_body(mail) == "已完成。\n另：附件为报告。"


def test_a_gbk_reply_is_read():
    raw = (
        b'From: fgj@example.gov.cn\r\nContent-Type: text/plain; charset="gbk"\r\n'
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "已完成。\r\n".encode("gbk")
    )
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert reply_body(mail) == "已完成。"


def _mail(**headers: str) -> EmailMessage:
    mail = EmailMessage()
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("我于6月21日至25日休假。")
    return mail


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"Subject": "自动回复: 关于任务即将到期的提醒"},
        {"Subject": "Automatic reply: 提醒"},
        {"Subject": "Out of Office: 提醒"},
    ],
)
def test_machines_answers_are_recognised(headers):
    assert automatic_reason(_mail(**headers))


def test_a_persons_reply_is_not_automatic():
    mail = _mail(Subject="答复: 关于任务即将到期的提醒", Auto_Submitted="no")
    assert automatic_reason(mail) is None


def test_a_reply_names_tasks_only_among_those_of_its_notice():
    assert named_tasks("任务1、4已完成；第 2 项推进中", [1, 2, 4]) == [1, 2, 4]
    assert named_tasks("任务4：已报送", [1, 4]) == [4]
    assert named_tasks("第1季度已报送", [1, 4]) == []  # 第1季度 is no task number
    assert named_tasks("任务9已完成", [1, 4]) == []
