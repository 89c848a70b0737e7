"""The engine's label-map vocabulary: one uint8 id per tissue, drawn geometry-first (SynthSeg style), and the
groups the appearance model and the checks use. Intensities come later (`appearance`), per scan.

Artery label = PULM_ARTERY (pulmonary trunk from the valve, left/right pulmonary arteries, every intrapulmonary
artery: the TotalSegmentator `pulmonary_artery` definition extended into the lungs); vein label = PULM_VEIN (the
pulmonary veins up to the left-atrial wall). Heart chambers, the right-ventricular outflow tract and the aorta are
never labelled.
"""

from __future__ import annotations

AIR, FAT, MUSCLE, CORTICAL, TRABECULAR, MARROW_CANAL = 0, 1, 2, 3, 4, 5
LUNG, AIRWAY_LUMEN, AIRWAY_WALL = 6, 7, 8
MYOCARDIUM, RA, RV, LA, LV = 9, 10, 11, 12, 13
PULM_ARTERY, PULM_VEIN = 14, 15
AORTA, SVC, IVC, AZYGOS, ESOPHAGUS = 16, 17, 18, 19, 20
LIVER, ABDOMEN = 21, 22
NODULE, GROUND_GLASS, CONSOLIDATION, EFFUSION, CALCIFICATION, EMPHYSEMA = 23, 24, 25, 26, 27, 28
N_TISSUES = 29

NAMES = {
    AIR: "air", FAT: "fat", MUSCLE: "muscle", CORTICAL: "cortical bone", TRABECULAR: "trabecular bone",
    MARROW_CANAL: "spinal canal", LUNG: "lung", AIRWAY_LUMEN: "airway lumen", AIRWAY_WALL: "airway wall",
    MYOCARDIUM: "myocardium", RA: "right atrium", RV: "right ventricle", LA: "left atrium", LV: "left ventricle",
    PULM_ARTERY: "pulmonary artery", PULM_VEIN: "pulmonary vein", AORTA: "aorta", SVC: "superior vena cava",
    IVC: "inferior vena cava", AZYGOS: "azygos vein", ESOPHAGUS: "esophagus", LIVER: "liver",
    ABDOMEN: "upper abdomen", NODULE: "nodule", GROUND_GLASS: "ground-glass opacity",
    CONSOLIDATION: "consolidation", EFFUSION: "pleural effusion", CALCIFICATION: "calcified lymph node",
    EMPHYSEMA: "emphysema",
}

# blood pools by circulation: the contrast phase decides their HU (appearance.draw_phase)
RIGHT_BLOOD = (RA, RV, PULM_ARTERY)  # systemic venous return → right heart → pulmonary arteries
LEFT_BLOOD = (LA, LV, PULM_VEIN, AORTA)  # pulmonary veins → left heart → aorta
SYSTEMIC_VEINS = (SVC, IVC, AZYGOS)
LUNG_TISSUES = (LUNG, NODULE, GROUND_GLASS, CONSOLIDATION, EFFUSION, EMPHYSEMA)  # inside the lung mask
CHAMBERS = (RA, RV, LA, LV)
