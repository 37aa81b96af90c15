from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from digest.matching import semantic
from digest.matching.cold_start import OFFERED
from digest.matching.evaluation import cold_start as cold_start_evaluation
from digest.matching.evaluation import harness, real_days


class Command(BaseCommand):
    help = (
        "Score the ranking against the labelled seed day in digest/matching/evaluation: nDCG@10 and P@5 per interest "
        "profile and their means, for Paperboy's ranker and the tf-idf and BM25 baselines; then the "
        "real days (what is sent: sent precision, papers sent to absent topics, nDCG@10 by kind); then the "
        "feedback simulation (P@5 before and after a day of 👍/👎). Touches no database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-feedback", action="store_true", help="skip the feedback simulation")
        parser.add_argument("--no-real-days", action="store_true", help="skip the three labelled real days")
        parser.add_argument("--profiles", action="store_true", help="on the real days, also one line per profile")
        parser.add_argument(
            "--cold-start",
            action="store_true",
            help="only the cold-start simulation: P@5 of the first digest on each real day without and with "
            "the papers a simulated reader ticked at signup the week before",
        )
        parser.add_argument(
            "--parts",
            action="store_true",
            help="also rank with the lexical part and the semantic part of our score alone (needs the semantic extra)",
        )

    def handle(
        self, *args, no_feedback: bool, parts: bool, no_real_days: bool, profiles: bool, cold_start: bool, **options
    ) -> None:
        self.stdout.write(f"Ranking: {semantic.status()}")
        if cold_start:
            self.cold_start(profiles)
            return
        if parts and not semantic.is_semantic():
            raise CommandError("--parts needs the semantic part: pip install '.[semantic]'")
        rankers = harness.RANKERS | (harness.PARTS if parts else {})
        results = {name: harness.evaluate(ranker) for name, ranker in rankers.items()}
        names = list(results)
        self.stdout.write(f"\n{'profile':46} " + " ".join(f"{n + ' nDCG@10':>16} {n + ' P@5':>12}" for n in names))
        for profile in harness.profiles():
            cells = " ".join(
                f"{results[n][profile.name].ndcg:16.3f} {results[n][profile.name].precision:12.2f}" for n in names
            )
            self.stdout.write(f"{profile.name[:46]:46} {cells}")
        means = {n: harness.mean(r) for n, r in results.items()}
        cells = " ".join(f"{means[n].ndcg:16.3f} {means[n].precision:12.2f}" for n in names)
        self.stdout.write(f"{'MEAN (' + str(len(harness.profiles())) + ' profiles)':46} {cells}")
        for label, paraphrase in (("paraphrased", True), ("worded like the titles", False)):
            subset = [p for p in harness.profiles() if p.paraphrase == paraphrase]
            for name in names:
                part = harness.mean({p.name: results[name][p.name] for p in subset})
                self.stdout.write(
                    f"  {name}: {len(subset)} {label} profiles: nDCG@10 {part.ndcg:.3f}, P@5 {part.precision:.2f}"
                )
        if not no_real_days:
            self.real_days(profiles)
        if no_feedback:
            return
        self.stdout.write(
            f"\nFeedback simulation: stated interest \u201c{harness.BROAD_INTEREST}\u201d, "
            f"hidden interest = a profile; {harness.EMAILS} emails of {harness.SHOWN} from the even papers, rated; "
            "P@5 on the odd papers"
        )
        runs = harness.simulate_feedback()
        for run in runs:
            self.stdout.write(
                f"{run.name[:46]:46} P@5 before {run.before:.2f}  after {run.after:.2f}  "
                f"(rated {run.liked} 👍, {run.disliked} 👎)"
            )
        before = sum(r.before for r in runs) / len(runs)
        after = sum(r.after for r in runs) / len(runs)
        self.stdout.write(
            f"{'MEAN (' + str(len(runs)) + ' subscribers)':46} P@5 before {before:.2f}  after {after:.2f}"
        )

    def real_days(self, per_profile: bool) -> None:
        self.stdout.write(
            f"\nReal days (digest/matching/evaluation/real_days): what is sent, at most {real_days.SENT} papers; "
            "precision = share of sent papers graded >= 2; absent = papers sent to a profile the day has nothing for"
        )
        header = (
            f"{'ranker':9} {'day':10} {'sent':>5} {'precision':>9} {'absent avg':>10} {'max':>4} "
            f"{'nDCG@10 worded':>14} {'paraphrased':>11} {'ranked worded':>13} {'paraphrased':>11} {'sent nothing':>12}"
        )
        self.stdout.write(header)
        for name in real_days.senders():
            results = real_days.evaluate(name)
            overall = [r for rows in results.values() for r in rows]
            for label, rows in [*results.items(), ("overall", overall)]:
                f = real_days.Figures.of(rows)
                nothing = f.sent_nothing[real_days.WORDED] + f.sent_nothing[real_days.PARAPHRASED]
                self.stdout.write(
                    f"{name:9} {label:10} {f.sent:5} {f.sent_precision:9.3f} {f.absent_false_alarms:10.2f} "
                    f"{f.absent_most:4} {f.ndcg[real_days.WORDED]:14.3f} {f.ndcg[real_days.PARAPHRASED]:11.3f} "
                    f"{f.ranked_ndcg[real_days.WORDED]:13.3f} {f.ranked_ndcg[real_days.PARAPHRASED]:11.3f} {nothing:12}"
                )
            if per_profile:
                for r in overall:
                    self.stdout.write(
                        f"  {r.profile.id:16} {r.profile.kind:11} sent {len(r.sent):2}, relevant {r.relevant_sent:2}, "
                        f"nDCG@10 {r.ndcg:.3f} (ordering {r.ranked_ndcg:.3f})  {'; '.join(r.profile.topics)}"
                    )

    def cold_start(self, per_profile: bool) -> None:
        from django.conf import settings

        self.stdout.write(
            "\nCold start (digest/matching/evaluation/cold_start.py): each labelled profile signs up the week before "
            f"its real day, is offered {OFFERED} papers of that week and ticks those holding every word "
            "of one of its topics (a stated rule: nobody graded those weeks); P@5 of the first digest on the "
            "labelled day, from its real grades, without and with the ticks as 👍. Means over the profiles "
            "that have something to find (absent ones: papers sent instead)."
        )
        threshold = settings.PAPERBOY_MATCH_THRESHOLD
        results = cold_start_evaluation.simulate(threshold)
        # For comparison only: the ticks as seed papers (interests of their own) instead of 👍.
        as_seeds = cold_start_evaluation.simulate(threshold, as_seeds=True)
        self.stdout.write(
            f"{'day':10} {'profiles':>8} {'ticked':>6} {'P@5 before':>10} {'after':>6} {'(as seeds)':>10} "
            f"{'absent sent before':>18} {'after':>6}"
        )
        overall = [r for runs in results.values() for r in runs]
        overall_seeds = [r for runs in as_seeds.values() for r in runs]
        for label, runs, seeded in [
            *((date, runs, as_seeds[date]) for date, runs in results.items()),
            ("overall", overall, overall_seeds),
        ]:
            before, after = cold_start_evaluation.mean_precision(runs)
            absent = [r for r in runs if r.profile.kind == real_days.ABSENT]
            self.stdout.write(
                f"{label:10} {len(runs):8} {sum(len(r.ticked) for r in runs):6} {before:10.3f} {after:6.3f} "
                f"{cold_start_evaluation.mean_precision(seeded)[1]:10.3f} "
                f"{sum(len(r.before) for r in absent):18} {sum(len(r.after) for r in absent):6}"
            )
        if per_profile:
            for r in overall:
                self.stdout.write(
                    f"  {r.profile.id:16} {r.profile.kind:11} ticked {len(r.ticked):2} of {len(r.offered):2}, "
                    f"P@5 {r.precision_before:.1f} -> {r.precision_after:.1f}  {'; '.join(r.profile.topics)}"
                )
