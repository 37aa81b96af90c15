#!/usr/bin/env python3
"""Build the hand-graded eval files /work/scratch/eval14/<date>.json.

Every grade below was decided by reading the paper's title and abstract (see
dump-<date>.txt, a plain re-print of hf-<date>.json).  Only non-zero grades are
listed; every other paper of the day gets 0 for that profile.  No model,
embedding or ranking was used to decide any grade.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# (kind, topics, note, {arxiv_id: grade})
DAYS = {}

# ---------------------------------------------------------------- 2025-05-30
DAYS["2025-05-30"] = [
    ("worded", ["reinforcement learning for llm reasoning"],
     "RL post-training (RLVR, GRPO, reward design) that improves LLM reasoning",
     {"2505.22653": 3,  # noisy rewards in RL for reasoning
      "2505.23621": 3,  # Table-R1: RLVR for table reasoning
      "2505.23585": 3,  # OPO on-policy RL, math reasoning
      "2505.23754": 3,  # DeepTheorem: RL for theorem proving
      "2505.20282": 2,  # one-shot entropy minimisation vs rule-based RL
      "2505.23604": 2,  # Satori-SWE: RL to self-evolve, test-time scaling
      "2505.23646": 2,  # how RL/SFT post-training affects LRM hallucination
      "2505.22914": 1,  # RL fine-tuning for CAD (not reasoning)
      "2505.23762": 1,  # online RL for GUI agents
      "2505.22961": 1,  # RL persuader
      "2505.23747": 1,  # GRPO for spatial MLLM
      "2505.23380": 1,  # GRPO for unified multimodal models
      "2505.23761": 1,  # DPO theory (preference, not reasoning)
      "2505.23359": 1,  # video reasoning benchmark, test-time thinking
      }),
    ("worded", ["diffusion models for image generation"],
     "diffusion-based image synthesis: samplers, distillation, architectures, editing",
     {"2505.23660": 3,  # D-AR
      "2505.20755": 3,  # Uni-Instruct one-step diffusion
      "2505.21114": 3,  # solver search for fast diffusion sampling
      "2505.23758": 3,  # LoRAShop multi-concept generation/editing (Flux DiT)
      "2505.23606": 2,  # Muddit unified discrete diffusion (text+image)
      "2505.23380": 1,  # UniRL image generation post-training of unified models
      "2505.22126": 1,  # SridBench: benchmark of image generation models
      "2505.23742": 1,  # video diffusion
      "2505.23253": 1,  # 3D texturing with DiTs
      "2505.23625": 1,  # audio diffusion for separation
      "2505.22618": 1,  # diffusion LLM (text)
      "2505.20199": 1,  # CFG for masked diffusion language model
      }),
    ("worded", ["multimodal llm benchmarks", "video understanding"],
     "benchmarks/evaluations of MLLMs and video understanding models",
     {"2505.23693": 3,  # VF-Eval
      "2505.23359": 3,  # VideoReasonBench
      "2505.22810": 3,  # VidText
      "2505.18087": 2,  # CXReasonBench (LVLM medical benchmark)
      "2505.19360": 2,  # ChartLens + ChartVA-Eval
      "2505.23747": 2,  # Spatial-MLLM: spatial video understanding
      "2505.22943": 1,  # MAC: CLIP compositionality benchmark
      "2505.22126": 1,  # benchmark of image generation
      "2505.22765": 1,  # speech LM benchmark
      "2505.23745": 1,  # VLM trust
      "2505.23742": 1,  # video generation (adjacent)
      }),
    ("worded", ["kv cache compression", "long-context language models"],
     "memory/KV-cache efficiency and long-context modelling for LLMs",
     {"2505.23416": 3,  # KVzip
      "2505.23735": 3,  # ATLAS long-term memory, 10M context
      "2505.22618": 2,  # Fast-dLLM: KV cache for diffusion LLMs
      }),
    ("worded", ["llm alignment", "preference optimization"],
     "aligning LLMs with human preferences: DPO/RLHF, reward models, preference data",
     {"2505.23761": 3,  # DPO information-theoretic analysis
      "2505.20088": 2,  # explaining preferences / reward models / LaaJ
      "2505.23585": 2,  # OPO: RL for alignment and reasoning
      "2505.22653": 1,  # noisy reward models (reasoning focus)
      "2505.19236": 1,  # creativity evaluator aligned with humans
      "2505.23559": 1,  # safety of LLM scientist agents
      "2505.20282": 1,  # post-training without rewards
      "2505.23693": 1,  # RePrompt aligning MLLMs with human feedback
      }),
    ("worded", ["3d reconstruction", "3d content generation"],
     "reconstructing or generating 3D scenes/assets (splatting, CAD, texturing)",
     {"2505.23716": 3,  # AnySplat
      "2505.23253": 3,  # UniTEX 3D texture generation
      "2505.22914": 2,  # CAD reconstruction
      "2505.20755": 1,  # text-to-3D as a side application
      "2505.22421": 1,  # 3D-geometry-informed driving world model
      "2505.23747": 1,  # 3D structure features for spatial MLLM
      }),
    ("worded", ["medical ai", "clinical llms"],
     "LLMs/VLMs for medicine and clinical practice",
     {"2505.18087": 3,  # chest X-ray diagnostic reasoning
      "2505.17818": 3,  # PatientSim doctor-patient simulator
      }),
    ("worded", ["speech and audio processing"],
     "speech language models and audio signal tasks",
     {"2505.23625": 3,  # ZeroSep audio source separation
      "2505.22765": 3,  # StressTest speech LMs
      "2505.22943": 1,  # attacks include audio representations
      }),
    ("paraphrased", ["cutting the latency and memory bill of serving chatbots"],
     "efficient LLM inference (KV cache eviction, decoding acceleration), worded without field terms",
     {"2505.23416": 3,  # KVzip
      "2505.22618": 2,  # Fast-dLLM throughput
      "2505.23735": 1,  # memory module (architecture, not serving)
      "2505.23604": 1,  # sample-efficient test-time scaling
      }),
    ("paraphrased", ["denoising-based picture synthesis"],
     "diffusion image generation, worded without 'diffusion'/'image'/'generation'",
     {"2505.23660": 3, "2505.20755": 3, "2505.21114": 3, "2505.23758": 3,
      "2505.23606": 2,
      "2505.23380": 1, "2505.22126": 1, "2505.23742": 1, "2505.23253": 1,
      "2505.23625": 1, "2505.22618": 1, "2505.20199": 1,
      }),
    ("paraphrased", ["fixing bugs in real code repositories automatically"],
     "automated issue resolution / SWE-bench style software engineering",
     {"2505.23419": 3,  # SWE-bench-Live
      "2505.23604": 3,  # Satori-SWE
      }),
    ("paraphrased", ["ai for healthcare and radiology"],
     "medical AI, worded without the papers' title words",
     {"2505.18087": 3, "2505.17818": 3}),
    ("paraphrased", ["machine listening"],
     "computational audition: audio separation, spoken-language understanding",
     {"2505.23625": 3,  # source separation
      "2505.22765": 2,  # sentence stress understanding in speech LMs
      "2505.22943": 1,
      }),
    ("paraphrased", ["fabricated or unsupported answers from ai assistants"],
     "hallucination / attribution of model outputs",
     {"2505.23646": 3,  # hallucination in reasoning models
      "2505.19360": 2,  # ChartLens attribution against hallucination
      "2505.23745": 1,  # confident wrong VLM predictions
      }),
    ("absent", ["protein structure prediction"],
     "absent: no biology/protein paper on this day (all 42 abstracts read)", {}),
    ("absent", ["recommender systems"],
     "absent: no recommendation/user-modelling paper (all abstracts read)", {}),
    ("absent", ["time series forecasting"],
     "absent: no forecasting/temporal-signal paper (all abstracts read)", {}),
    ("absent", ["robot manipulation"],
     "absent: no robotics paper; only a driving world model is adjacent",
     {"2505.22421": 1}),
]

# ---------------------------------------------------------------- 2026-02-03
DAYS["2026-02-03"] = [
    ("worded", ["deep research agents"],
     "LLM/MLLM agents that search and synthesise long research answers/reports",
     {"2602.01566": 3,  # FS-Researcher
      "2602.01590": 3,  # Wiki Live Challenge
      "2602.02486": 3,  # RE-TRAC deep search agents
      "2601.22060": 3,  # Vision-DeepResearch
      "2602.02185": 3,  # VDR-Bench
      "2602.02276": 1,  # Kimi K2.5 agentic model
      "2601.20613": 1,  # general agent benchmark
      "2602.01756": 1,  # agentic search for image generation
      "2602.02053": 1,  # GraphRAG benchmark
      "2602.01983": 1,  # tool-creating agents
      "2602.02488": 1,  # RL for agentic tasks
      "2602.01815": 1,  # multi-agent scientific discovery
      }),
    ("worded", ["reinforcement learning for llm reasoning"],
     "RL post-training (RLVR etc.) of LLMs for reasoning",
     {"2602.00759": 3,  # A^2D for RLVR
      "2602.01058": 3,  # PEAR: SFT that prepares for RL
      "2601.21968": 2,  # on-policy verbal distillation of reasoning
      "2602.02488": 2,  # RLAnything
      "2602.01511": 2,  # Rubric-ARM RL reward modelling
      "2602.01660": 1,  # question generation for reasoning training
      "2602.01842": 1,  # test-time scaling for dLLM reasoning
      "2602.01997": 1,  # pruning hurts reasoning
      "2602.02361": 1,  # SWE RL environments
      "2601.22060": 1,  # RL for multimodal deep research
      "2602.01541": 1,  # RL stage for MLLM reasoning
      "2602.02276": 1,  # joint text-vision RL
      "2601.22588": 1,  # evaluator on reasoning benchmarks
      "2602.01983": 1,  # tool-integrated reasoning
      "2602.01382": 1,  # RL for image generation
      "2602.02227": 1,  # RL-trained invoker in T2I
      }),
    ("worded", ["text-to-image generation", "image editing"],
     "generating and editing images from text/instructions",
     {"2602.02437": 3,  # UniReason
      "2602.01756": 3,  # Mind-Brush
      "2602.01851": 3,  # VIBE editing benchmark
      "2602.02493": 3,  # PixelGen
      "2602.02227": 3,  # LatentMorph
      "2602.01382": 3,  # PromptRL
      "2602.01335": 2,  # visual metaphor transfer
      "2602.01077": 1,  # sparse attention for DiTs (mostly video)
      "2602.01624": 1, "2602.02092": 1, "2602.02214": 1, "2602.01538": 1,  # video
      }),
    ("worded", ["video generation"],
     "text/image-to-video synthesis and its acceleration/post-training",
     {"2602.02214": 3,  # Causal Forcing
      "2602.02092": 3,  # FSVideo
      "2602.01624": 3,  # PISCES T2V post-training
      "2602.01538": 3,  # InteractAvatar talking avatars
      "2602.01077": 2,  # PISA sparse attention for video DiTs
      "2602.02493": 1, "2602.01382": 1, "2602.02227": 1, "2602.02437": 1,
      "2602.01756": 1, "2602.01851": 1, "2602.01335": 1,  # image generation
      }),
    ("worded", ["llm agents for software engineering"],
     "coding agents, repository understanding, SWE-bench",
     {"2602.02361": 3,  # SWE-Universe
      "2602.02084": 3,  # RPG-Encoder
      "2602.02276": 1,  # Kimi (coding among many)
      "2602.01983": 1,
      "2602.02488": 1,
      }),
    ("worded", ["efficient inference", "model compression"],
     "quantisation, pruning, token compression, distillation, fast inference",
     {"2601.22674": 3,  # VisionTrim
      "2602.02110": 3,  # world model quantisation
      "2602.01997": 3,  # layer pruning
      "2602.01077": 3,  # PISA sparse attention
      "2602.02092": 2,  # fast video diffusion
      "2602.01842": 2,  # efficient TTS for dLLMs
      "2601.21968": 2,  # distillation to efficient students
      "2602.02214": 2,  # few-step distillation for real-time
      "2602.02472": 1,  # cheaper pre-training
      "2602.02486": 1,  # fewer tool calls/tokens
      "2602.02276": 1,  # agent swarm latency
      "2602.02227": 1,  # reduced inference time
      "2602.02156": 1,  # dynamic exit
      "2601.22588": 1,  # small-model evaluators
      }),
    ("worded", ["multimodal large language models"],
     "MLLM training, reasoning, efficiency and benchmarks",
     {"2602.01541": 3,  # Cognitive Supersensing
      "2602.02185": 3,  # VDR-Bench
      "2601.22060": 3,  # Vision-DeepResearch MLLM
      "2601.22674": 3,  # VisionTrim
      "2602.02276": 3,  # Kimi K2.5 multimodal
      "2602.02437": 2,  # unified multimodal model
      "2602.02227": 1, "2602.01756": 1, "2602.01851": 1,
      "2602.01983": 1, "2602.02156": 1, "2602.00919": 1,
      }),
    ("worded", ["dense retrieval", "retrieval-augmented generation"],
     "retrievers and RAG pipelines",
     {"2601.21759": 3,  # Inf-DDS text retrievers
      "2602.02053": 3,  # GraphRAG benchmark
      "2602.02185": 1, "2602.01566": 1, "2601.22060": 1, "2602.02486": 1,
      "2602.01590": 1, "2602.01756": 1,
      }),
    ("worded", ["llm evaluation", "llm-as-a-judge"],
     "evaluating LLM outputs: judges, rubrics, benchmarks",
     {"2601.22588": 3,  # Representation-as-a-Judge
      "2602.01511": 3,  # rubric generator + judge
      "2601.20613": 2,  # agent benchmark with LLM verification
      "2602.01590": 2,  # Wiki Eval
      "2602.01479": 2,  # Ebisu benchmark
      "2602.01851": 1, "2602.02053": 1, "2602.02185": 1, "2602.01541": 1,
      }),
    ("paraphrased", ["assistants that browse the web and compile cited reports"],
     "deep research agents, worded without 'deep', 'research', 'agents', 'search'",
     {"2602.01566": 3, "2602.01590": 3, "2602.02486": 3,
      "2601.22060": 2, "2602.02185": 2,
      "2601.20613": 1, "2602.02053": 1, "2602.02276": 1, "2601.21968": 1,
      "2602.01756": 1,
      }),
    ("paraphrased", ["synthesizing pictures from written descriptions"],
     "text-to-image generation, worded without 'image'/'generation'",
     {"2602.02437": 3, "2602.01756": 3, "2602.02493": 3, "2602.02227": 3,
      "2602.01382": 3,
      "2602.01851": 1, "2602.01335": 1, "2602.01077": 1, "2602.01624": 1,
      "2602.02092": 1, "2602.02214": 1, "2602.01538": 1,
      }),
    ("paraphrased", ["synthesizing moving footage and animated clips"],
     "video generation, worded without 'video'/'generation'",
     {"2602.02214": 3, "2602.02092": 3, "2602.01624": 3, "2602.01538": 3,
      "2602.01077": 2,
      "2602.02493": 1, "2602.01382": 1, "2602.02227": 1, "2602.02437": 1,
      "2602.01756": 1, "2602.01851": 1, "2602.01335": 1,
      }),
    ("paraphrased", ["shrinking neural networks so they run cheaply"],
     "model compression (quantisation, pruning, distillation)",
     {"2602.02110": 3, "2602.01997": 3,
      "2601.22674": 2, "2601.21968": 2, "2602.01077": 2,
      "2602.02092": 1, "2602.02214": 1, "2602.01842": 1, "2602.02472": 1,
      "2602.02156": 1,
      }),
    ("paraphrased", ["teaching coding assistants to resolve github issues"],
     "SWE agents, worded without 'software', 'engineering', 'repository'",
     {"2602.02361": 3, "2602.02084": 2, "2602.02276": 1}),
    ("paraphrased", ["automatic grading of chatbot responses"],
     "LLM-as-a-judge / reward-model judges, worded without 'judge'",
     {"2601.22588": 3, "2602.01511": 3,
      "2601.20613": 1, "2602.01590": 1, "2602.01851": 1,
      }),
    ("absent", ["protein structure prediction"],
     "absent: only molecular-discovery agents are adjacent (all 44 abstracts read)",
     {"2602.01815": 1}),
    ("absent", ["automatic speech recognition"],
     "absent: no speech paper; only an audio-driven talking-avatar video model",
     {"2602.01538": 1}),
    ("absent", ["medical image analysis"],
     "absent: no medical paper on this day (all abstracts read)", {}),
    ("absent", ["autonomous driving"],
     "absent: no driving/vehicle paper (all abstracts read)", {}),
]

# ---------------------------------------------------------------- 2026-06-01
DAYS["2026-06-01"] = [
    ("worded", ["search agents", "agentic retrieval"],
     "LLM agents that search corpora/the web to answer questions",
     {"2605.29307": 3,  # GrepSeek
      "2605.29796": 3,  # SAAS over-search
      "2605.31433": 2,  # SCOPE solver with multi-turn retrieval
      "2605.31584": 1,  # data from search-agent trajectories
      "2605.24442": 1,  # composed image retrieval (not agentic)
      }),
    ("worded", ["robot learning", "vision-language-action models"],
     "robot policies, VLAs, imitation learning",
     {"2605.30834": 3,  # VLA failure detection
      "2605.30011": 3,  # VisualThink-VLA
      "2605.27919": 3,  # frequency-guided diffusion policies
      "2605.29488": 1,  # human motion generation
      "2605.31075": 1,  # embodied multimodal agents memory
      "2605.31158": 1,  # world models for embodied training
      }),
    ("worded", ["text-to-speech", "audio generation"],
     "speech synthesis and audio generation",
     {"2605.30993": 3, "2605.28618": 3, "2605.30940": 3}),
    ("worded", ["video generation", "world models"],
     "video synthesis, interactive/long world generation",
     {"2605.31336": 3,  # DecMem
      "2605.31603": 3,  # Lumos-Nexus
      "2605.31158": 3,  # Light Interaction
      "2605.30409": 2,  # streaming video editing
      "2605.30940": 1,  # video-to-audio
      "2605.29488": 1,  # motion generation
      "2605.31604": 1,  # image generation in UMMs
      "2605.31598": 1,  # video understanding
      }),
    ("worded", ["on-policy distillation", "knowledge distillation"],
     "teacher-student distillation methods",
     {"2605.31159": 3,  # TRB
      "2605.26844": 3,  # TA-OPD
      "2605.29398": 2,  # self-distillation for dLLM RL
      "2605.31029": 2,  # PEEK distils frame rankings
      "2605.31264": 1,  # 'knowledge distillation' of traces into skills
      "2605.31455": 1,  # importance-weighted SFT
      }),
    ("worded", ["reinforcement learning for llms", "reward models"],
     "RL post-training of LLMs and reward modelling",
     {"2605.30888": 3,  # SAVE reward model improvement
      "2605.31584": 3,  # LongTraceRL
      "2605.29796": 3,  # SAAS
      "2605.31455": 3,  # DRIFT
      "2605.29398": 3,  # GDSD
      "2605.29307": 2,  # GRPO search agent
      "2605.31433": 2,  # self-play
      "2605.31096": 2,  # RL for MLLMs
      "2605.31075": 1,  # RL memorisation policy
      "2605.31159": 1, "2605.26844": 1,  # on-policy distillation
      "2605.31268": 1,  # RLVR stage in a tech report
      }),
    ("worded", ["diffusion language models"],
     "dLLMs: decoding, MoE, RL",
     {"2605.30876": 3, "2605.28181": 3, "2605.29398": 3,
      "2605.31604": 1,  # pixel diffusion inside a UMM
      }),
    ("worded", ["multimodal llms", "video understanding"],
     "MLLMs/VLMs, video-language understanding and benchmarks",
     {"2605.31598": 3,  # StateKV long video VLMs
      "2605.21625": 3,  # Flat-Pack Bench
      "2605.31096": 3,  # iVGR
      "2605.31029": 2,  # frame selection for video captioning
      "2605.30557": 2,  # VLM spatial abstention
      "2605.30561": 2,  # VLM3
      "2605.31075": 2,  # multimodal agent memory, video benchmarks
      "2605.31604": 2,  # unified multimodal model
      "2605.31503": 1, "2605.24442": 1, "2605.31603": 1, "2605.30011": 1,
      "2605.30846": 1, "2605.30834": 1, "2605.31039": 1,
      }),
    ("worded", ["ai safety", "llm security"],
     "attacks/defences, oversight, unlearning for LLMs and agents",
     {"2605.31042": 3,  # prompt injection trojans
      "2605.31170": 3,  # oversight evasion
      "2605.30514": 2,  # unlearning
      "2605.30329": 1,  # LLM reliability as reviewers
      "2605.30834": 1,  # robot failure monitoring
      }),
    ("paraphrased", ["robots that learn from human demonstrations"],
     "imitation learning / behaviour cloning",
     {"2605.27919": 3,  # behaviour cloning from demos
      "2605.30011": 2,  # VLA policies trained on demonstrations
      "2605.30834": 1, "2605.29488": 1,
      }),
    ("paraphrased", ["machines that talk naturally, with human-like intonation"],
     "expressive text-to-speech, worded without 'speech', 'voice', 'expressive'",
     {"2605.30993": 3, "2605.28618": 3, "2605.30940": 1}),
    ("paraphrased", ["keeping autonomous ai assistants secure and monitorable"],
     "agent security and oversight, worded without 'control', 'oversight', 'agents'",
     {"2605.31042": 3, "2605.31170": 3, "2605.30514": 1, "2605.30834": 1}),
    ("paraphrased", ["cutting memory use and lag when deploying neural networks"],
     "inference efficiency (memory-bound MoE, prefill cost, real-time systems)",
     {"2605.30876": 3,  # dMoE memory/latency
      "2605.31158": 2,  # inference acceleration
      "2605.31598": 2,  # linear-time prefill
      "2605.30409": 2,  # real-time with quantisation
      "2605.30011": 1, "2605.28992": 1, "2605.31268": 1, "2605.31029": 1,
      "2605.31336": 1,
      }),
    ("paraphrased", ["analysing microscopy and pathology slides"],
     "biomedical microscopy: cell segmentation, counting",
     {"2605.29429": 3,  # cell instance segmentation
      "2605.30846": 2,  # counting incl. histopathology/microscopy
      }),
    ("absent", ["protein structure prediction"],
     "absent: no protein/molecular paper (all 49 abstracts read)", {}),
    ("absent", ["quantum machine learning"],
     "absent: no quantum paper (all abstracts read)", {}),
    ("absent", ["recommender systems"],
     "absent: no recommendation paper (all abstracts read)", {}),
    ("absent", ["autonomous driving"],
     "absent: no driving paper; 'vehicles' only as a counting category",
     {}),
]

KIND_PREFIX = {"worded": "w", "paraphrased": "p", "absent": "a"}


def build(date):
    src = f"hf-daily/{date}.json"
    items = json.load(open(os.path.join(HERE, f"hf-{date}.json")))
    ids = [it["paper"]["id"] for it in items]
    assert len(ids) == len(set(ids))
    counters = {"worded": 0, "paraphrased": 0, "absent": 0}
    profiles = []
    for kind, topics, note, nz in DAYS[date]:
        unknown = set(nz) - set(ids)
        assert not unknown, (date, topics, unknown)
        counters[kind] += 1
        grades = {pid: int(nz.get(pid, 0)) for pid in ids}
        profiles.append({
            "id": f"{date}-{KIND_PREFIX[kind]}{counters[kind]}",
            "kind": kind,
            "topics": topics,
            "grades": grades,
            "note": note,
        })
    out = {"date": date, "source": src, "profiles": profiles}
    with open(os.path.join(HERE, f"{date}.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(date, len(ids), "papers,", counters)


if __name__ == "__main__":
    for d in DAYS:
        build(d)
