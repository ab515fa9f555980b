
T û‘ÿ¼1à÷§ÿ¼1__name__remote_onlyreplicar1"°êrate û‘ÿ¼1 à÷§ÿ¼18à§