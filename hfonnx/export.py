"""Export Hugging Face models to ONNX with hfonnx's C graph builder."""
from .config import load_config
from .weights import load_weights

__all__ = ["export", "load_config", "load_weights"]


def export(model, output_dir, task=None, head=None, opset=None, with_past=True, external_data=None):
    """Not available yet in this build."""
    raise NotImplementedError("hfonnx.export lands with the graph engine")
