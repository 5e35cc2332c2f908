"""hfonnx: Hugging Face tokenizers in C and direct ONNX export of BERT and T5."""
from . import errors
from .graph import DEFAULT_OPSET, ExternalData, Graph, Value
from .export import export, load_config, load_weights  # noqa: E402
from .added_tokens import AddedToken  # noqa: E402
from .tokenization import (AutoTokenizer, BatchEncoding, BertTokenizer, CharSpan, RaggedIds,  # noqa: E402
                           TokenSpan, get_num_threads, set_num_threads)
from .tokenization_t5 import T5Tokenizer  # noqa: E402  (registers itself with AutoTokenizer)
from .errors import (ExportError, GraphError, HfonnxError, TokenizerError,
                     UnsupportedModelError, WeightError)

__version__ = "0.1.0"

__all__ = [
    "HfonnxError", "TokenizerError", "GraphError", "WeightError",
    "UnsupportedModelError", "ExportError", "errors", "__version__",
    "Graph", "Value", "ExternalData", "DEFAULT_OPSET",
    "export", "load_config", "load_weights",
    "AutoTokenizer", "BertTokenizer", "T5Tokenizer", "BatchEncoding", "TokenSpan", "CharSpan",
    "RaggedIds",
    "AddedToken", "set_num_threads", "get_num_threads",
]
