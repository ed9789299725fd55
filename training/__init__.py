"""Training of the retrieval networks (imports `core`, never `editor`).

``demo_data`` makes a labeled + unlabeled demo set; ``data_cache`` caches phrase features per
song; ``datasets`` / ``samplers`` feed them (split by song, class-balanced, distributed);
``pretrain`` (Eq. 1–4), ``finetune`` (Eq. 5) and ``coascent`` (Algorithm 1) are the stages,
run in order by ``pipeline`` into a model bundle; ``evaluate`` and ``ablation`` measure them.
``distributed``, ``loop``, ``checkpoints`` and ``run_log`` are the shared plumbing; the CLI is
``choreo train`` (``commands/train.py``).
"""
