from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from digest.matching import semantic
from digest.matching.evaluation import harness


class Command(BaseCommand):
    help = (
        "Score the ranking against the labelled day in digest/evaluation: nDCG@10 and P@5 per interest "
        "profile and their means, for Paperboy's ranker and the tf-idf and BM25 baselines; then the "
        "feedback simulation (P@5 before and after a day of 👍/👎). Touches no database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-feedback", action="store_true", help="skip the feedback simulation")
        parser.add_argument(
            "--parts",
            action="store_true",
            help="also rank with the lexical part and the semantic part of our score alone (needs the semantic extra)",
        )

    def handle(self, *args, no_feedback: bool, parts: bool, **options) -> None:
        self.stdout.write(f"Ranking: {semantic.status()}")
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
