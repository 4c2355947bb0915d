"""LoRA / QLoRA fine-tuning trainer for the FineTune Operator."""

__version__ = "0.1.0"
