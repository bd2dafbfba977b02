#!/usr/bin/env bash
# On the offline GPU box: install the kit made by ../shared/offline/bundle.sh into /tmp/offline (source this file).
#   source scripts/gpu_setup.sh .offline
kit=${1:-.offline}
source "$kit/install.sh" "$kit" >/dev/null
python3 -c "import lightning" 2>/dev/null || python3 -m pip install -q --no-index --no-deps --target /tmp/offline/site .whl/*.whl
export DOTLIGHTNING_GEMMA3_270M_GGUF=/tmp/offline/model/gemma-3-270m-q4_k_m.gguf
export DOTLIGHTNING_CACHE=/tmp/offline/cache HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONPATH="$PWD:$PYTHONPATH"
