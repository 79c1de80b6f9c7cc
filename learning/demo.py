"""The learning part of ``sala demo``: question banks, tests and feedback questions, and with
``--months N`` the tests people took and the feedback they gave in that history.

- :func:`load_learning_demo` (plain ``sala demo``): a small bilingual question bank for each
  topic there is a bank for here (:data:`BANKS`: SOGIE, human rights, LGBT problem analysis,
  team building, problem solving; single and multiple choice, the correct choices marked),
  one test of it per topic, that test as the pre-test and the post-test of the demo's
  upcoming sessions, and three feedback questions (:data:`FEEDBACK_QUESTIONS`).
- :func:`load_learning_history` (``--months N``, inside the history's transaction): the same
  tests set on the past sessions, and for them the pre-tests and post-tests people took
  (:class:`Attempt` with an :class:`AttemptAnswer` per question, scored as the taking page
  scores: a point per question answered with exactly its correct choices), the feedback of
  most of those who came (a :class:`FeedbackReceipt` and, apart, an anonymous
  :class:`FeedbackResponse` of the session's day), and, for sessions that ended so recently
  that the worker would still ask for feedback, the request as already sent.

Rows are written directly (``bulk_create``), not through :mod:`learning.bank` and
:mod:`learning.attempts`: those audit each change under a staff member and take the answers
one registration at a time, which for two years of history is thousands of transactions.
What they keep is kept here: the choices chosen are real choices of their question, in
ascending order; ``correct`` and ``score`` follow from them; one attempt per registration
and phase, a pre-test taken before the start, a post-test after the end and only by people
checked in; feedback only from people checked in, once each, the receipts and the responses
each written in a shuffled order so that no row order pairs them.

Idempotent as :mod:`events.demo` is, by a marker: a topic whose demo test (by its English
name) exists gets no second bank, a feedback question already there is not added again, a
session with tests set keeps them, and the history is loaded once (its caller checks).
Who did well and who answered is drawn from a seeded generator (:data:`HISTORY_SEED`).
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from tortoise.transactions import in_transaction

from attendees.models import Registration, RegistrationStatus
from events.models import Session, Topic
from learning.bank import MAX_FEEDBACK_QUESTIONS
from learning.emails import FEEDBACK_MAIL, REQUEST_DAYS
from learning.feedback import session_day
from learning.models import (
    Attempt,
    AttemptAnswer,
    Choice,
    FeedbackQuestion,
    FeedbackReceipt,
    FeedbackResponse,
    LearningTest,
    Phase,
    Question,
    QuestionKind,
    SessionEvaluation,
    TestQuestion,
)
from sala.models import OutboxMessage, OutboxStatus

HISTORY_SEED = 16
BATCH = 500  # rows per INSERT


# ----------------------------------------------------------------------------- the content


@dataclass(frozen=True)
class _Choice:
    en: str
    km: str
    correct: bool = False


@dataclass(frozen=True)
class _Question:
    kind: QuestionKind
    en: str
    km: str
    choices: tuple[_Choice, ...]


@dataclass(frozen=True)
class _Bank:
    """A topic's demo questions, the name of their test, and what people found most useful
    (written feedback, (English, Khmer))."""

    test_en: str
    test_km: str
    questions: tuple[_Question, ...]
    useful: tuple[tuple[str, str], ...]


SINGLE, MULTIPLE = QuestionKind.SINGLE, QuestionKind.MULTIPLE
ALL_THAT_APPLY_EN = "Choose all that apply."
ALL_THAT_APPLY_KM = "សូមជ្រើសរើសចម្លើយត្រឹមត្រូវទាំងអស់។"

BANKS: dict[str, _Bank] = {
    "sogie": _Bank(
        "SOGIE basics: before and after",
        "មូលដ្ឋានគ្រឹះ SOGIE៖ មុន និងក្រោយវគ្គ",
        (
            _Question(
                SINGLE,
                "In SOGIE, what do the letters SO stand for?",
                "ក្នុងពាក្យ SOGIE តើអក្សរ SO តំណាងឱ្យអ្វី?",
                (
                    _Choice("Sexual orientation", "ទំនោរផ្លូវភេទ", correct=True),
                    _Choice("Sex at birth", "ភេទពីកំណើត"),
                    _Choice("Social organisation", "អង្គការសង្គម"),
                    _Choice("Sexual behaviour", "អាកប្បកិរិយាផ្លូវភេទ"),
                ),
            ),
            _Question(
                SINGLE,
                "What is gender identity?",
                "តើអត្តសញ្ញាណយេនឌ័រ គឺជាអ្វី?",
                (
                    _Choice(
                        "A person's own deep sense of their gender: woman, man, both, neither "
                        "or another gender",
                        "អារម្មណ៍ដឹងច្បាស់នៅក្នុងខ្លួនរបស់មនុស្សម្នាក់អំពីយេនឌ័ររបស់ខ្លួន៖ ស្ត្រី "
                        "បុរស ទាំងពីរ មិនមែនទាំងពីរ ឬយេនឌ័រផ្សេងទៀត",
                        correct=True,
                    ),
                    _Choice("The sex written on a birth certificate", "ភេទដែលសរសេរនៅលើសំបុត្រកំណើត"),
                    _Choice("Whom a person is attracted to", "មនុស្សដែលម្នាក់នោះមានការទាក់ទាញចិត្ត"),
                    _Choice("The clothes a person wears", "សម្លៀកបំពាក់ដែលមនុស្សម្នាក់ស្លៀកពាក់"),
                ),
            ),
            _Question(
                MULTIPLE,
                f"Which of these are sexual orientations? {ALL_THAT_APPLY_EN}",
                f"តើមួយណាខ្លះជាទំនោរផ្លូវភេទ? {ALL_THAT_APPLY_KM}",
                (
                    _Choice("Heterosexual (straight)", "ស្រឡាញ់ភេទផ្ទុយ", correct=True),
                    _Choice("Bisexual", "ស្រឡាញ់ភេទទាំងពីរ", correct=True),
                    _Choice("Lesbian or gay", "ស្រឡាញ់ភេទដូចគ្នា (លេសប៊ីន ឬហ្គេ)", correct=True),
                    _Choice("Transgender", "អ្នកប្លែងភេទ (ត្រង់ស្ជេនឌ័រ)"),
                ),
            ),
            _Question(
                SINGLE,
                "Can you tell a person's sexual orientation from the way they dress or speak?",
                "តើអ្នកអាចដឹងពីទំនោរផ្លូវភេទរបស់មនុស្សម្នាក់ តាមរបៀបស្លៀកពាក់ ឬរបៀបនិយាយរបស់គេបានទេ?",
                (
                    _Choice(
                        "No: gender expression and sexual orientation are different things",
                        "មិនបានទេ៖ ការបញ្ចេញភេទ និងទំនោរផ្លូវភេទ គឺជារឿងខុសគ្នា",
                        correct=True,
                    ),
                    _Choice("Yes, always", "បាន ជានិច្ច"),
                    _Choice("Yes, for most people", "បាន សម្រាប់មនុស្សភាគច្រើន"),
                ),
            ),
            _Question(
                SINGLE,
                "What does the World Health Organization say about being lesbian, gay, "
                "bisexual or transgender?",
                "តើអង្គការសុខភាពពិភពលោកនិយាយយ៉ាងដូចម្តេច អំពីការជាលេសប៊ីន ហ្គេ ស្រឡាញ់ភេទទាំងពីរ ឬអ្នកប្លែងភេទ?",
                (
                    _Choice(
                        "It is not an illness and needs no cure",
                        "វាមិនមែនជាជំងឺទេ ហើយមិនត្រូវការព្យាបាលទេ",
                        correct=True,
                    ),
                    _Choice("It is a mental illness", "វាជាជំងឺផ្លូវចិត្ត"),
                    _Choice(
                        "It can be cured with therapy", "វាអាចព្យាបាលឱ្យជាបាន ដោយការព្យាបាលផ្លូវចិត្ត"
                    ),
                ),
            ),
        ),
        (
            (
                "The difference between gender identity and sexual orientation.",
                "ភាពខុសគ្នារវាងអត្តសញ្ញាណយេនឌ័រ និងទំនោរផ្លូវភេទ។",
            ),
            ("The games made it easy to understand.", "ល្បែងទាំងនោះធ្វើឱ្យងាយយល់។"),
        ),
    ),
    "human_rights": _Bank(
        "Human rights: before and after",
        "សិទ្ធិមនុស្ស៖ មុន និងក្រោយវគ្គ",
        (
            _Question(
                SINGLE,
                "Who has human rights?",
                "តើនរណាខ្លះមានសិទ្ធិមនុស្ស?",
                (
                    _Choice(
                        "Every person, because they are human",
                        "មនុស្សគ្រប់រូប ដោយសារគេជាមនុស្ស",
                        correct=True,
                    ),
                    _Choice("Only the citizens of a country", "មានតែពលរដ្ឋនៃប្រទេសមួយប៉ុណ្ណោះ"),
                    _Choice("Only adults", "មានតែមនុស្សពេញវ័យប៉ុណ្ណោះ"),
                    _Choice("Only people who obey the law", "មានតែអ្នកដែលគោរពច្បាប់ប៉ុណ្ណោះ"),
                ),
            ),
            _Question(
                SINGLE,
                "Which document, adopted by the United Nations in 1948, sets out the rights "
                "of every person?",
                "តើឯកសារមួយណា ដែលអង្គការសហប្រជាជាតិបានអនុម័តនៅឆ្នាំ ១៩៤៨ កំណត់សិទ្ធិរបស់មនុស្សគ្រប់រូប?",
                (
                    _Choice(
                        "The Universal Declaration of Human Rights",
                        "សេចក្តីប្រកាសជាសកលស្តីពីសិទ្ធិមនុស្ស",
                        correct=True,
                    ),
                    _Choice("The ASEAN Charter", "ធម្មនុញ្ញអាស៊ាន"),
                    _Choice("The Paris Peace Agreements", "កិច្ចព្រមព្រៀងសន្តិភាពទីក្រុងប៉ារីស"),
                ),
            ),
            _Question(
                MULTIPLE,
                f"Which of these are human rights? {ALL_THAT_APPLY_EN}",
                f"តើមួយណាខ្លះជាសិទ្ធិមនុស្ស? {ALL_THAT_APPLY_KM}",
                (
                    _Choice("The right to education", "សិទ្ធិទទួលបានការអប់រំ", correct=True),
                    _Choice("The right to health care", "សិទ្ធិទទួលបានការថែទាំសុខភាព", correct=True),
                    _Choice(
                        "The right to be free from discrimination",
                        "សិទ្ធិរួចផុតពីការរើសអើង",
                        correct=True,
                    ),
                    _Choice(
                        "The right to make others agree with you",
                        "សិទ្ធិបង្ខំអ្នកដទៃឱ្យយល់ស្របនឹងខ្លួន",
                    ),
                ),
            ),
            _Question(
                SINGLE,
                "Does the Constitution of Cambodia recognise the rights of the Universal "
                "Declaration of Human Rights?",
                "តើរដ្ឋធម្មនុញ្ញនៃព្រះរាជាណាចក្រកម្ពុជា ទទួលស្គាល់សិទ្ធិដែលមានចែងក្នុង"
                "សេចក្តីប្រកាសជាសកលស្តីពីសិទ្ធិមនុស្សដែរឬទេ?",
                (
                    _Choice("Yes, in Article 31", "ទទួលស្គាល់ នៅក្នុងមាត្រា ៣១", correct=True),
                    _Choice("No", "មិនទទួលស្គាល់ទេ"),
                    _Choice("Only for government officers", "ទទួលស្គាល់សម្រាប់តែមន្ត្រីរាជការប៉ុណ្ណោះ"),
                ),
            ),
            _Question(
                SINGLE,
                "You face discrimination at work. What is a safe first step?",
                "អ្នកជួបការរើសអើងនៅកន្លែងធ្វើការ។ តើជំហានដំបូងដែលមានសុវត្ថិភាពគឺអ្វី?",
                (
                    _Choice(
                        "Write down what happened, when and where, and talk to an "
                        "organisation you trust",
                        "កត់ត្រាអ្វីដែលបានកើតឡើង ពេលណា និងនៅទីណា ហើយពិភាក្សាជាមួយអង្គការដែលអ្នកទុកចិត្ត",
                        correct=True,
                    ),
                    _Choice(
                        "Post the names of the people involved online straight away",
                        "បង្ហោះឈ្មោះអ្នកពាក់ព័ន្ធលើបណ្តាញសង្គមភ្លាមៗ",
                    ),
                    _Choice("Say nothing: nothing can be done", "នៅស្ងៀម ព្រោះមិនអាចធ្វើអ្វីបានទេ"),
                ),
            ),
        ),
        (
            (
                "Learning where to get help if I face discrimination.",
                "ការដឹងពីកន្លែងស្វែងរកជំនួយ នៅពេលជួបការរើសអើង។",
            ),
            (
                "The articles of the Constitution that protect us.",
                "មាត្រានានានៃរដ្ឋធម្មនុញ្ញដែលការពារយើង។",
            ),
        ),
    ),
    "problem_analysis": _Bank(
        "LGBT problem analysis: before and after",
        "ការវិភាគបញ្ហា LGBT៖ មុន និងក្រោយវគ្គ",
        (
            _Question(
                SINGLE,
                "In a problem tree, what do the roots stand for?",
                "នៅក្នុងដើមឈើបញ្ហា តើឫសតំណាងឱ្យអ្វី?",
                (
                    _Choice("The causes of the problem", "មូលហេតុនៃបញ្ហា", correct=True),
                    _Choice("The effects of the problem", "ផលវិបាកនៃបញ្ហា"),
                    _Choice("The solutions", "ដំណោះស្រាយ"),
                ),
            ),
            _Question(
                SINGLE,
                "Whom should you listen to first when you analyse a problem LGBT people face "
                "in a community?",
                "នៅពេលវិភាគបញ្ហាដែលមនុស្ស LGBT ក្នុងសហគមន៍មួយជួបប្រទះ តើអ្នកគួរស្តាប់នរណាមុនគេ?",
                (
                    _Choice(
                        "The LGBT people of that community",
                        "មនុស្ស LGBT នៅក្នុងសហគមន៍នោះផ្ទាល់",
                        correct=True,
                    ),
                    _Choice("Only the local authorities", "មានតែអាជ្ញាធរមូលដ្ឋានប៉ុណ្ណោះ"),
                    _Choice(
                        "Nobody: the facilitator already knows",
                        "មិនចាំបាច់ស្តាប់នរណាទេ ព្រោះអ្នកសម្របសម្រួលដឹងរួចហើយ",
                    ),
                ),
            ),
            _Question(
                MULTIPLE,
                "Which of these can be root causes of discrimination against LGBT people? "
                f"{ALL_THAT_APPLY_EN}",
                f"តើមួយណាខ្លះអាចជាឫសគល់នៃការរើសអើងលើមនុស្ស LGBT? {ALL_THAT_APPLY_KM}",
                (
                    _Choice("Wrong information about SOGIE", "ព័ត៌មានមិនត្រឹមត្រូវអំពី SOGIE", correct=True),
                    _Choice(
                        "Stereotypes and prejudice",
                        "ការយល់ឃើញខុសៗតាមទម្លាប់ និងការប្រកាន់",
                        correct=True,
                    ),
                    _Choice(
                        "Laws and policies that do not protect LGBT people",
                        "ច្បាប់ និងគោលនយោបាយដែលមិនការពារមនុស្ស LGBT",
                        correct=True,
                    ),
                    _Choice("Being LGBT", "ការជាមនុស្ស LGBT"),
                ),
            ),
            _Question(
                SINGLE,
                "Why leave out of the report the names of the people whose stories you collected?",
                "ហេតុអ្វីត្រូវលុបឈ្មោះរបស់អ្នកដែលបានចែករំលែករឿងរ៉ាវរបស់ពួកគេ ចេញពីរបាយការណ៍?",
                (
                    _Choice(
                        "Being named could put them at risk",
                        "ការបង្ហាញឈ្មោះអាចធ្វើឱ្យពួកគេប្រឈមនឹងគ្រោះថ្នាក់",
                        correct=True,
                    ),
                    _Choice("Names make a report too long", "ឈ្មោះធ្វើឱ្យរបាយការណ៍វែងពេក"),
                    _Choice("Their stories do not matter", "រឿងរ៉ាវរបស់ពួកគេមិនសំខាន់"),
                ),
            ),
        ),
        (
            ("The group work with the problem tree.", "ការងារជាក្រុមជាមួយដើមឈើបញ្ហា។"),
            (
                "Planning what our organisation can do next month.",
                "ការរៀបចំផែនការអ្វីដែលអង្គការរបស់យើងអាចធ្វើនៅខែក្រោយ។",
            ),
        ),
    ),
    "team_building": _Bank(
        "Team building: before and after",
        "ការកសាងក្រុម៖ មុន និងក្រោយវគ្គ",
        (
            _Question(
                SINGLE,
                "What builds trust in a team?",
                "តើអ្វីដែលកសាងការទុកចិត្តគ្នានៅក្នុងក្រុម?",
                (
                    _Choice(
                        "Keeping promises and speaking openly",
                        "ការរក្សាពាក្យសន្យា និងការនិយាយដោយបើកចំហ",
                        correct=True,
                    ),
                    _Choice("Hiding mistakes", "ការលាក់កំហុស"),
                    _Choice("One person deciding everything", "ការឱ្យមនុស្សម្នាក់សម្រេចគ្រប់យ៉ាង"),
                ),
            ),
            _Question(
                MULTIPLE,
                f"Which of these help a team meeting work well? {ALL_THAT_APPLY_EN}",
                f"តើមួយណាខ្លះជួយឱ្យកិច្ចប្រជុំក្រុមដំណើរការបានល្អ? {ALL_THAT_APPLY_KM}",
                (
                    _Choice("A clear goal", "គោលដៅច្បាស់លាស់", correct=True),
                    _Choice("Everyone gets a turn to speak", "មនុស្សគ្រប់គ្នាមានវេននិយាយ", correct=True),
                    _Choice(
                        "Agreeing who does what next",
                        "ការឯកភាពគ្នាថា អ្នកណាធ្វើអ្វីបន្ទាប់",
                        correct=True,
                    ),
                    _Choice(
                        "Interrupting whoever you disagree with",
                        "ការកាត់សម្តីអ្នកដែលយើងមិនយល់ស្រប",
                    ),
                ),
            ),
            _Question(
                SINGLE,
                "Two members disagree. What is a good first step?",
                "សមាជិកពីរនាក់មិនយល់ស្របគ្នា។ តើជំហានដំបូងដ៏ល្អគឺអ្វី?",
                (
                    _Choice(
                        "They listen to each other and look for what they agree on",
                        "ម្នាក់ៗស្តាប់គ្នាទៅវិញទៅមក ហើយស្វែងរកចំណុចដែលយល់ស្របគ្នា",
                        correct=True,
                    ),
                    _Choice("Vote at once, without talking", "បោះឆ្នោតភ្លាមៗ ដោយមិនពិភាក្សា"),
                    _Choice("Pretend nothing happened", "ធ្វើពុតជាគ្មានអ្វីកើតឡើង"),
                ),
            ),
            _Question(
                SINGLE,
                "Why does a team agree on roles?",
                "ហេតុអ្វីក្រុមត្រូវឯកភាពគ្នាលើតួនាទី?",
                (
                    _Choice(
                        "So everyone knows what they are responsible for",
                        "ដើម្បីឱ្យម្នាក់ៗដឹងពីការទទួលខុសត្រូវរបស់ខ្លួន",
                        correct=True,
                    ),
                    _Choice(
                        "So that some members can do nothing",
                        "ដើម្បីឱ្យសមាជិកខ្លះមិនចាំបាច់ធ្វើអ្វី",
                    ),
                    _Choice("Roles do not matter in a team", "តួនាទីមិនសំខាន់ក្នុងក្រុមទេ"),
                ),
            ),
        ),
        (
            ("The trust games.", "ល្បែងកសាងការទុកចិត្ត។"),
            ("Getting to know the new members.", "ការស្គាល់សមាជិកថ្មីៗ។"),
        ),
    ),
    "problem_solving": _Bank(
        "Problem solving: before and after",
        "ការដោះស្រាយបញ្ហា៖ មុន និងក្រោយវគ្គ",
        (
            _Question(
                SINGLE,
                "What is the first step in solving a problem?",
                "តើជំហានដំបូងក្នុងការដោះស្រាយបញ្ហាគឺអ្វី?",
                (
                    _Choice("Describe the problem clearly", "រៀបរាប់បញ្ហាឱ្យបានច្បាស់លាស់", correct=True),
                    _Choice("Choose a solution", "ជ្រើសរើសដំណោះស្រាយ"),
                    _Choice("Find someone to blame", "រកមនុស្សដើម្បីបន្ទោស"),
                ),
            ),
            _Question(
                SINGLE,
                "Brainstorming works best when…",
                "ការបំផុសគំនិតមានប្រសិទ្ធភាពបំផុត នៅពេលដែល…",
                (
                    _Choice(
                        "every idea is written down first, without judging it",
                        "គំនិតទាំងអស់ត្រូវបានកត់ត្រាជាមុនសិន ដោយមិនទាន់វាយតម្លៃ",
                        correct=True,
                    ),
                    _Choice("only the leader speaks", "មានតែអ្នកដឹកនាំប៉ុណ្ណោះដែលនិយាយ"),
                    _Choice("each idea is criticised at once", "គំនិតនីមួយៗត្រូវបានរិះគន់ភ្លាមៗ"),
                ),
            ),
            _Question(
                MULTIPLE,
                f"What helps you choose between solutions? {ALL_THAT_APPLY_EN}",
                f"តើអ្វីខ្លះជួយអ្នកក្នុងការជ្រើសរើសដំណោះស្រាយ? {ALL_THAT_APPLY_KM}",
                (
                    _Choice("What it costs", "ថ្លៃចំណាយរបស់វា", correct=True),
                    _Choice("Whom it helps", "អ្នកដែលទទួលបានប្រយោជន៍ពីវា", correct=True),
                    _Choice(
                        "Whether we can do it with the people and time we have",
                        "លទ្ធភាពធ្វើវាបាន ជាមួយមនុស្ស និងពេលវេលាដែលយើងមាន",
                        correct=True,
                    ),
                    _Choice("Whose idea it was", "គំនិតនោះជារបស់នរណា"),
                ),
            ),
            _Question(
                SINGLE,
                "You tried a solution. What next?",
                "អ្នកបានសាកល្បងដំណោះស្រាយមួយហើយ។ តើត្រូវធ្វើអ្វីបន្ទាប់?",
                (
                    _Choice(
                        "Check whether it worked, and learn from it",
                        "ពិនិត្យមើលថាវាមានប្រសិទ្ធភាពឬអត់ ហើយរៀនសូត្រពីវា",
                        correct=True,
                    ),
                    _Choice("Never talk about it again", "មិននិយាយពីវាទៀតទេ"),
                    _Choice(
                        "Try every other solution at the same time",
                        "សាកល្បងដំណោះស្រាយផ្សេងទៀតទាំងអស់ក្នុងពេលតែមួយ",
                    ),
                ),
            ),
        ),
        (
            ("Agreeing on what to try first.", "ការឯកភាពគ្នាលើអ្វីដែលត្រូវសាកល្បងមុន។"),
            ("The brainstorming rules.", "ច្បាប់នៃការបំផុសគំនិត។"),
        ),
    ),
}

# (English, Khmer); the first is answered from the topic's ``useful`` words and these.
FEEDBACK_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("What was most useful to you?", "តើអ្វីដែលមានប្រយោជន៍បំផុតសម្រាប់អ្នក?"),
    ("What should we do better next time?", "តើយើងគួរធ្វើអ្វីឱ្យកាន់តែប្រសើរនៅពេលក្រោយ?"),
    ("Is there anything else you would like to tell us?", "តើមានអ្វីផ្សេងទៀតដែលអ្នកចង់ប្រាប់យើងទេ?"),
)
WRITTEN: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        ("The stories from people in the community.", "រឿងរ៉ាវពីមនុស្សនៅក្នុងសហគមន៍។"),
        ("Everything was clear and easy to follow.", "អ្វីៗទាំងអស់ច្បាស់ និងងាយយល់។"),
    ),
    (
        ("More time for questions, please.", "សូមទុកពេលសម្រាប់សួរសំណួរឱ្យបានច្រើនជាងនេះ។"),
        ("The room was too hot.", "បន្ទប់ក្តៅពេក។"),
        ("Send the slides before the session.", "សូមផ្ញើស្លាយមុនវគ្គ។"),
        ("Start on time.", "សូមចាប់ផ្តើមឱ្យទាន់ពេល។"),
        ("More examples from Cambodia.", "សូមលើកឧទាហរណ៍ពីប្រទេសកម្ពុជាបន្ថែមទៀត។"),
    ),
    (
        ("Thank you to the facilitators!", "សូមអរគុណដល់អ្នកសម្របសម្រួល!"),
        ("I will share this with my friends.", "ខ្ញុំនឹងចែករំលែកចំណេះដឹងនេះជាមួយមិត្តភក្តិ។"),
        ("Please run this training in my province.", "សូមរៀបចំវគ្គនេះនៅខេត្តរបស់ខ្ញុំផង។"),
        ("I felt safe to speak.", "ខ្ញុំមានអារម្មណ៍សុវត្ថិភាពក្នុងការនិយាយ។"),
    ),
)
ANSWERS_GIVEN = (0.45, 0.3, 0.15)  # how often each feedback question is answered in words
RATING_WEIGHTS = {5: 44, 4: 36, 3: 13, 2: 5, 1: 2}


# ----------------------------------------------------------------------------- the banks


async def demo_tests() -> dict[int, int]:
    """The demo test of each topic that has a bank in :data:`BANKS`, by topic id (test id),
    made with its questions the first time. The caller holds the transaction."""
    tests: dict[int, int] = {}
    for topic in await Topic.filter(code__in=list(BANKS)).order_by("position", "id"):
        bank = BANKS[topic.code]
        found = await LearningTest.filter(topic_id=topic.id, name_en=bank.test_en).first()
        tests[topic.id] = found.id if found else await _make_bank(topic, bank)
    return tests


async def _make_bank(topic: Topic, bank: _Bank) -> int:
    """The topic's questions, their choices and the test of them in order; the test's id."""
    test = await LearningTest.create(topic_id=topic.id, name_en=bank.test_en, name_km=bank.test_km)
    for position, item in enumerate(bank.questions, start=1):
        question = await Question.create(
            topic_id=topic.id, kind=item.kind, text_en=item.en, text_km=item.km
        )
        await Choice.bulk_create(
            [
                Choice(
                    question_id=question.id,
                    text_en=choice.en,
                    text_km=choice.km,
                    correct=choice.correct,
                    position=n,
                )
                for n, choice in enumerate(item.choices, start=1)
            ]
        )
        await TestQuestion.create(test_id=test.id, question_id=question.id, position=position)
    return test.id


async def demo_feedback_questions() -> list[FeedbackQuestion]:
    """The demo's feedback questions, added the first time, as many as fit among the active
    ones (at most :data:`learning.bank.MAX_FEEDBACK_QUESTIONS`). The caller holds the
    transaction."""
    found: list[FeedbackQuestion] = []
    active = await FeedbackQuestion.filter(archived_at__isnull=True).count()
    for en, km in FEEDBACK_QUESTIONS:
        question = await FeedbackQuestion.filter(text_en=en).first()
        if question is None and active < MAX_FEEDBACK_QUESTIONS:
            active += 1
            question = await FeedbackQuestion.create(text_en=en, text_km=km, position=active)
        if question is not None:
            found.append(question)
    return found


def _topic_id(session: Session) -> int:
    return int(session.topic_id)  # type: ignore[attr-defined]  # the FK's column


async def _set_tests(sessions: Sequence[Session], tests: dict[int, int]) -> int:
    """Each session's topic test as its pre-test and post-test, for sessions with no test
    settings yet; how many were set."""
    ids = [session.id for session in sessions]
    have = set(
        await SessionEvaluation.filter(session_id__in=ids).values_list("session_id", flat=True)
    )
    rows = [
        SessionEvaluation(
            session_id=session.id,
            pre_test_id=tests[_topic_id(session)],
            post_test_id=tests[_topic_id(session)],
        )
        for session in sessions
        if session.id not in have and _topic_id(session) in tests
    ]
    for start in range(0, len(rows), BATCH):
        await SessionEvaluation.bulk_create(rows[start : start + BATCH])
    return len(rows)


async def load_learning_demo(sessions: Sequence[Session]) -> str:
    """Plain ``sala demo``: the banks, their tests set on ``sessions`` (the upcoming ones)
    and the feedback questions, in one transaction; what was done, in a few words."""
    async with in_transaction():
        tests = await demo_tests()
        await demo_feedback_questions()
        set_on = await _set_tests(sessions, tests)
    return f"question banks of {len(tests)} topics, their tests set on {set_on} sessions"


# ----------------------------------------------------------------------------- the history


@dataclass(frozen=True)
class LearningHistory:
    """What :func:`load_learning_history` wrote."""

    attempts: int
    pairs: int  # registrations with both tests
    responses: int


@dataclass(frozen=True)
class _Asked:
    """A question of a test as the history answers it: its choices' ids and the correct
    ones, and how hard it is (added to a person's chance of knowing it before) and how much
    the training moves it."""

    question_id: int
    kind: QuestionKind
    choice_ids: tuple[int, ...]
    correct: frozenset[int]
    ease: float
    moved: float


# By the question's place in its test: the last one is the one the training hardly moves.
EASE = (0.2, 0.0, -0.15, 0.05, -0.1)
MOVED = (1.0, 0.9, 0.8, 1.0, 0.25)


async def _questions(test_ids: set[int]) -> dict[int, list[_Asked]]:
    """Each test's questions in order, by test id."""
    entries = await TestQuestion.filter(test_id__in=list(test_ids)).order_by("position", "id")
    question_ids = {entry.question_id for entry in entries}
    kinds = dict(await Question.filter(id__in=list(question_ids)).values_list("id", "kind"))
    choices: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for choice in await Choice.filter(question_id__in=list(question_ids)).order_by(
        "position", "id"
    ):
        choices[choice.question_id].append((choice.id, choice.correct))
    found: dict[int, list[_Asked]] = defaultdict(list)
    for entry in entries:
        place = len(found[entry.test_id])
        options = choices[entry.question_id]
        found[entry.test_id].append(
            _Asked(
                question_id=entry.question_id,
                kind=QuestionKind(kinds[entry.question_id]),
                choice_ids=tuple(choice_id for choice_id, _ in options),
                correct=frozenset(choice_id for choice_id, right in options if right),
                ease=EASE[place % len(EASE)],
                moved=MOVED[place % len(MOVED)],
            )
        )
    return found


def _answer(rng: random.Random, asked: _Asked, right: bool) -> frozenset[int]:
    """The choices of a right answer, or of a believable wrong one (a single answer: another
    choice; several: a correct one left out, or a wrong one added)."""
    if right or not asked.correct:
        return asked.correct
    wrong = [choice_id for choice_id in asked.choice_ids if choice_id not in asked.correct]
    if asked.kind == QuestionKind.SINGLE or not wrong:
        return frozenset({rng.choice(wrong)}) if wrong else asked.correct
    if len(asked.correct) > 1 and rng.random() < 0.6:
        return asked.correct - {rng.choice(sorted(asked.correct))}
    return asked.correct | {rng.choice(wrong)}


@dataclass
class _Written:
    """The rows to write, before their ids are known."""

    attempts: list[Attempt]
    answers: dict[tuple[int, Phase], list[tuple[int, frozenset[int], bool]]]
    receipts: list[FeedbackReceipt]
    responses: list[FeedbackResponse]
    asked: list[OutboxMessage]


def _sitting(
    rng: random.Random,
    questions: list[_Asked],
    chance: list[float],
    written: _Written,
    registration: dict[str, Any],
    session: Session,
    phase: Phase,
    test_id: int,
    submitted_at: datetime,
) -> None:
    """One attempt of a registration, each question right with its chance."""
    score = 0
    answers = []
    for asked, p in zip(questions, chance, strict=True):
        chosen = _answer(rng, asked, rng.random() < p)
        correct = chosen == asked.correct
        score += correct
        answers.append((asked.question_id, chosen, correct))
    registration_id = int(registration["id"])
    written.attempts.append(
        Attempt(
            registration_id=registration_id,
            session_id=session.id,
            phase=phase,
            test_id=test_id,
            score=score,
            max_score=len(questions),
            submitted_at=submitted_at,
        )
    )
    written.answers[(registration_id, phase)] = answers


def _tests_taken(
    rng: random.Random,
    session: Session,
    test_id: int,
    questions: list[_Asked],
    registration: dict[str, Any],
    now: datetime,
    written: _Written,
) -> None:
    """The pre-test (before the start) and the post-test (after the end, for those who came)
    of one confirmed registration, if they took them: most who came took both, some one
    only; of those who did not come, some took the pre-test."""
    came = registration["checked_in_at"] is not None
    took_pre = rng.random() < (0.85 if came else 0.3)
    took_post = came and rng.random() < (0.88 if took_pre else 0.6)
    if not (took_pre or took_post):
        return
    knows = rng.betavariate(2.2, 2.8)  # what they knew before (mean 0.44)
    learns = rng.uniform(0.25, 0.8)  # how much of the rest the training taught them
    before = [min(0.95, max(0.05, knows + asked.ease)) for asked in questions]
    if took_pre:
        created = registration["created_at"]
        assert isinstance(created, datetime)
        when = created + (session.starts_at - created) * rng.uniform(0.05, 0.97)
        _sitting(rng, questions, before, written, registration, session, Phase.PRE, test_id, when)
    if took_post:
        after = [
            p + (1 - p) * learns * asked.moved for p, asked in zip(before, questions, strict=True)
        ]
        minutes = rng.uniform(2, 60) if rng.random() < 0.8 else rng.uniform(60, 5 * 24 * 60)
        when = min(session.ends_at + timedelta(minutes=minutes), now - timedelta(minutes=1))
        _sitting(rng, questions, after, written, registration, session, Phase.POST, test_id, when)


def _feedback(
    rng: random.Random,
    session: Session,
    registration: dict[str, Any],
    useful: tuple[tuple[str, str], ...],
    questions: list[FeedbackQuestion],
    written: _Written,
) -> None:
    """Most people who came answer: a rating (mostly 4 or 5), now and then some words in
    their language."""
    if rng.random() >= 0.72:
        return
    rating = rng.choices(list(RATING_WEIGHTS), weights=list(RATING_WEIGHTS.values()))[0]
    khmer = registration["language"] == "km"
    answers: dict[str, str] = {}
    for n, question in enumerate(questions[: len(WRITTEN)]):
        if rng.random() < ANSWERS_GIVEN[n] + (0.3 if n == 1 and rating <= 3 else 0):
            pool = (useful + WRITTEN[0]) if n == 0 else WRITTEN[n]
            en, km = rng.choice(pool)
            answers[str(question.id)] = km if khmer else en
    written.receipts.append(FeedbackReceipt(id=uuid4(), registration_id=registration["id"]))
    written.responses.append(
        FeedbackResponse(
            id=uuid4(),
            session_id=session.id,
            day=session_day(session),
            rating=rating,
            answers=answers,
        )
    )


def _asked_already(session: Session, registration: dict[str, Any], written: _Written) -> None:
    """The feedback request the worker would otherwise send now to a made-up address, as
    sent an hour after the end (``learning.emails`` reads "asked" from the outbox)."""
    sent = session.ends_at + timedelta(hours=1)
    written.asked.append(
        OutboxMessage(
            message_id=f"<{secrets.token_hex(16)}@demo.sala>",
            kind=FEEDBACK_MAIL,
            to_address=registration["email"],
            language=registration["language"],
            params={"registration_id": registration["id"]},
            status=OutboxStatus.SENT,
            attempts=1,
            next_attempt_at=sent,
            sent_at=sent,
        )
    )


async def load_learning_history(
    sessions: Sequence[Session], *, now: datetime | None = None
) -> LearningHistory:
    """The tests and feedback of past ``sessions`` whose registrations are written (see the
    module's docstring), in the caller's transaction (``events.demo.load_history``'s)."""
    now = now or datetime.now(UTC)
    rng = random.Random(HISTORY_SEED)
    async with in_transaction():
        tests = await demo_tests()
        feedback_questions = await demo_feedback_questions()
        await _set_tests(sessions, tests)
        by_session = {session.id: session for session in sessions}
        evaluations = dict(
            await SessionEvaluation.filter(session_id__in=list(by_session)).values_list(
                "session_id", "pre_test_id"
            )
        )
        questions = await _questions({int(t) for t in evaluations.values() if t is not None})
        codes = dict(await Topic.all().values_list("id", "code"))
        registrations = (
            await Registration.filter(
                session_id__in=list(by_session), status=RegistrationStatus.CONFIRMED
            )
            .order_by("session_id", "id")
            .values("id", "session_id", "checked_in_at", "created_at", "language", "email")
        )
        written = _Written([], {}, [], [], [])
        asking_since = now - timedelta(days=REQUEST_DAYS)
        for registration in registrations:
            session = by_session[int(registration["session_id"])]
            test_id = evaluations.get(session.id)
            if test_id is not None and questions.get(test_id):
                _tests_taken(rng, session, test_id, questions[test_id], registration, now, written)
            if registration["checked_in_at"] is None or session.ends_at > now:
                continue
            bank = BANKS.get(codes.get(_topic_id(session), ""))
            useful = bank.useful if bank else ()
            _feedback(rng, session, registration, useful, feedback_questions, written)
            if session.ends_at > asking_since and registration["email"]:
                _asked_already(session, registration, written)
        await _write(rng, written, list(by_session))
    before = {registration_id for registration_id, phase in written.answers if phase == Phase.PRE}
    after = {registration_id for registration_id, phase in written.answers if phase == Phase.POST}
    return LearningHistory(len(written.attempts), len(before & after), len(written.responses))


async def _write(rng: random.Random, written: _Written, session_ids: list[int]) -> None:
    """The attempts, then (their ids read back) their answers; the receipts and the
    responses each in a shuffled order; the requests as sent."""
    for start in range(0, len(written.attempts), BATCH):
        await Attempt.bulk_create(written.attempts[start : start + BATCH])
    ids = {
        (int(registration_id), Phase(phase)): int(attempt_id)
        for attempt_id, registration_id, phase in await Attempt.filter(
            session_id__in=session_ids
        ).values_list("id", "registration_id", "phase")
    }
    answers = [
        AttemptAnswer(
            attempt_id=ids[key],
            question_id=question_id,
            chosen=",".join(str(choice_id) for choice_id in sorted(chosen)),
            correct=correct,
        )
        for key, rows in written.answers.items()
        for question_id, chosen, correct in rows
    ]
    for start in range(0, len(answers), BATCH):
        await AttemptAnswer.bulk_create(answers[start : start + BATCH])
    rng.shuffle(written.receipts)
    rng.shuffle(written.responses)
    for start in range(0, len(written.receipts), BATCH):
        await FeedbackReceipt.bulk_create(written.receipts[start : start + BATCH])
    for start in range(0, len(written.responses), BATCH):
        await FeedbackResponse.bulk_create(written.responses[start : start + BATCH])
    for start in range(0, len(written.asked), BATCH):
        await OutboxMessage.bulk_create(written.asked[start : start + BATCH])
